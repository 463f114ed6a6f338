import { describe, expect, test } from 'bun:test'
import { hasDirtyByte } from './clean-scan'

/** The rule as plain JavaScript: a control but the line feed, `"`, `\`, or not ASCII. */
const dirtyByte = (b: number): boolean => b !== 10 && (b < 0x20 || b === 0x22 || b === 0x5c || b >= 0x80)
const reference = (chunk: Uint8Array, from: number): boolean => chunk.subarray(from).some(dirtyByte)

describe('hasDirtyByte', () => {
  test('finds every byte value the rule names, wherever it lies against the scan steps and windows', () => {
    const lengths = [1, 15, 16, 63, 64, 65, 1000, 65535, 65536, 65537, 140_000]
    const wrong: number[][] = []
    for (const length of lengths) {
      const chunk = Buffer.alloc(length, 0x61)
      for (const at of new Set([0, 1, 15, 16, 63, 64, length >> 1, 65535, 65536, length - 1])) {
        if (at >= length) continue
        for (let b = 0; b < 256; b++) {
          chunk[at] = b
          for (const from of [0, 1])
            if (hasDirtyByte(chunk, from) !== (at >= from && dirtyByte(b))) wrong.push([length, at, b, from])
        }
        chunk[at] = 0x61
      }
    }
    expect(wrong).toEqual([])
  })

  test('agrees with a byte-by-byte look on random output', () => {
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536
    for (let round = 0; round < 300; round++) {
      const chunk = Buffer.alloc(1 + Math.floor(random() * 5000), 0x30)
      // mostly clean, now and then one byte of any value
      if (random() < 0.5) chunk[Math.floor(random() * chunk.length)] = Math.floor(random() * 256)
      expect(hasDirtyByte(chunk, 0)).toBe(reference(chunk, 0))
    }
  })

  test('a view into a larger buffer is looked at only over its own bytes', () => {
    const whole = Buffer.alloc(70_000, 0x61)
    whole[10] = 0x22
    whole[69_990] = 0x5c
    expect(hasDirtyByte(whole.subarray(11, 69_990), 0)).toBe(false)
    expect(hasDirtyByte(whole.subarray(10, 69_990), 0)).toBe(true)
    expect(hasDirtyByte(whole.subarray(11, 69_991), 0)).toBe(true)
  })

  test('a line of output as a flood sends it is clean; a tab, a CR or an accent in it is not', () => {
    const lines = Buffer.from(`${'0'.repeat(1023)}\n`.repeat(64))
    expect(hasDirtyByte(lines, 0)).toBe(false)
    for (const odd of ['\t', '\r', 'é', '"', '\\', '\u001b'])
      expect(hasDirtyByte(Buffer.concat([lines, Buffer.from(odd)]), 0)).toBe(true)
  })
})
