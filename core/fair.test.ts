import { describe, expect, test } from 'bun:test'
import { PIECE_BYTES, pieceEnd } from './fair'

const enc = new TextEncoder()

/** The pieces a pump hands on for `chunk`, as [from, to) pairs. */
function pieces(chunk: Uint8Array): [number, number][] {
  const out: [number, number][] = []
  for (let from = 0; from < chunk.length;) {
    const to = pieceEnd(chunk, from)
    expect(to).toBeGreaterThan(from)
    out.push([from, to])
    from = to
  }
  return out
}

describe('pieceEnd', () => {
  test('a 64 KiB chunk of `yes` goes in eight pieces of 4096 lines, each ending a line', () => {
    const chunk = enc.encode('y\n'.repeat(32 * 1024))
    const got = pieces(chunk)
    expect(got.length).toBe(8)
    for (const [from, to] of got) {
      expect(to - from).toBe(PIECE_BYTES)
      expect(chunk[to - 1]).toBe(10)
    }
  })

  test('a chunk no longer than a piece is handed on whole', () => {
    expect(pieces(enc.encode('y\n'.repeat(PIECE_BYTES / 2)))).toEqual([[0, PIECE_BYTES]])
    expect(pieces(new Uint8Array(0))).toEqual([])
  })

  test('a line longer than a piece is not cut; the bytes after a last newline stay together', () => {
    const long = 'x'.repeat(3 * PIECE_BYTES)
    const chunk = enc.encode(`a\n${long}\nb\n${'y'.repeat(PIECE_BYTES + 5)}`)
    const got = pieces(chunk)
    const b = 2 + long.length + 1
    expect(got).toEqual([
      [0, 2],
      [2, b],
      [b, b + 2],
      [b + 2, chunk.length],
    ])
    // every byte once, in order
    expect(got.map(([a, b]) => b - a).reduce((x, y) => x + y, 0)).toBe(chunk.length)
  })
})
