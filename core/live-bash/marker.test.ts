import { describe, expect, test } from 'bun:test'
import { MarkerScanner } from './marker'

const M = '__execd_0123abcd__'
const text = (s: MarkerScanner) => Buffer.from(s.take() ?? new Uint8Array()).toString()

describe('MarkerScanner', () => {
  test('the marker split across chunks, then its status: output before it, the status, the rest kept', () => {
    const s = new MarkerScanner(M, true)
    s.feed(Buffer.from('out\n__exe'))
    expect(text(s)).toBe('out\n')
    s.feed(Buffer.from('cd_0123abcd__:4'))
    expect(s.found).toBe(false)
    s.feed(Buffer.from('2\njob'))
    expect([s.found, s.status, s.rest.toString()]).toEqual([true, 42, 'job'])
  })

  test('the marker followed by more than a status without a newline is output, held no longer', () => {
    const s = new MarkerScanner(M, true)
    // Only the run itself can print the marker so (read out of its shell's memory): what follows
    // it was once held whole, copied at every chunk, until a newline came.
    s.feed(Buffer.from(`${M}:`))
    const chunk = Buffer.alloc(64 * 1024, '1')
    let out = ''
    for (let i = 0; i < 32; i++) {
      s.feed(chunk)
      out += text(s)
    }
    expect(s.found).toBe(false)
    expect(out.length).toBeGreaterThan(32 * 64 * 1024 - M.length)
    expect(out.startsWith(`${M}:111`)).toBe(true)
    s.feed(Buffer.from(`${M}:0\n`))
    expect([s.found, s.status]).toEqual([true, 0])
  })
})
