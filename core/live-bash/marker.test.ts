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
    s.feed(Buffer.from('2:hBx\njob'))
    expect([s.found, s.status, s.flags, s.rest.toString()]).toEqual([true, 42, 'hBx', 'job'])
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
    s.feed(Buffer.from(`${M}:0:hB\n`))
    expect([s.found, s.status]).toEqual([true, 0])
  })

  test("the marker followed by anything but the shell's `:<status>:<flags>` line is output", () => {
    // A trace of the frame's printf on stdout (`BASH_XTRACEFD=1`) once read as the end, status 0.
    const s = new MarkerScanner(M, true)
    s.feed(Buffer.from(`+ printf ${M} 1\n${M}:7\n${M}:1:hB\n`))
    expect(text(s)).toBe(`+ printf ${M} 1\n${M}:7\n`)
    expect([s.found, s.status, s.flags]).toEqual([true, 1, 'hB'])
  })

  test('`:1` after the flags: the shell moved to the input its line named', () => {
    const moved = new MarkerScanner(M, true)
    moved.feed(Buffer.from(`${M}:3:hB:1\n`))
    expect([moved.found, moved.status, moved.flags, moved.moved]).toEqual([true, 3, 'hB', true])
    const stayed = new MarkerScanner(M, true)
    stayed.feed(Buffer.from(`${M}:3:hB\n`))
    expect([stayed.found, stayed.moved]).toEqual([true, false])
  })
})
