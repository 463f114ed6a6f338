import { describe, expect, test } from 'bun:test'
import { ReadGatherer } from './read-gather'

const KiB = 1024

/** `n` reads of `bytes`, `gapMs` apart from `from`; whether each was told to wait. */
function reads(g: ReadGatherer, n: number, bytes: number, gapMs: number, from = 0): boolean[] {
  return Array.from({ length: n }, (_, i) => g.after(bytes, from + i * gapMs) !== undefined)
}

describe('ReadGatherer', () => {
  test('small reads wait once a MiB has come back to back, not before', () => {
    const g = new ReadGatherer()
    // 1 MiB in 8 KiB reads: the 128th completes the MiB
    const first = reads(g, 128, 8 * KiB, 0.1)
    expect(first.slice(0, 127).some(Boolean)).toBe(false)
    expect(first[127]).toBe(true)
    expect(reads(g, 10, 8 * KiB, 0.1, 12.8).every(Boolean)).toBe(true)
  })

  test('full reads never wait, in a flood or not', () => {
    const g = new ReadGatherer()
    expect(reads(g, 100, 64 * KiB, 0.2).some(Boolean)).toBe(false)
  })

  test('output that trickles is read as it comes', () => {
    const g = new ReadGatherer()
    // 4 MiB of 4 KiB reads, but 10 ms apart: never back to back
    expect(reads(g, 1024, 4 * KiB, 10).some(Boolean)).toBe(false)
  })

  test('a pause ends the flood: its next MiB is read as it comes again', () => {
    const g = new ReadGatherer()
    reads(g, 16, 64 * KiB, 0.2)
    expect(g.after(4 * KiB, 3.4)).toBeDefined()
    // quiet for a second, then small reads again
    expect(reads(g, 200, 4 * KiB, 0.1, 1000).some(Boolean)).toBe(false)
  })

  test('the wait is a promise that settles', async () => {
    const g = new ReadGatherer()
    reads(g, 16, 64 * KiB, 0.2)
    await g.after(KiB, 3.4)
  })
})
