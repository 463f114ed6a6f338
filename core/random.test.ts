import { expect, test } from 'bun:test'
import { uuidHex } from './random'

/** A v4 UUID without its dashes, as `crypto.randomUUID().replaceAll('-', '')` gave. */
const V4_HEX = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/

test('uuidHex gives v4 UUIDs of 32 lowercase hex digits, each new, across many batches', () => {
  const seen = new Set<string>()
  // 40 batches of 256: every batch boundary, the refill's version and variant bits included.
  for (let i = 0; i < 10_240; i++) {
    const id = uuidHex()
    expect(V4_HEX.test(id)).toBe(true)
    seen.add(id)
  }
  expect(seen.size).toBe(10_240)
})

test("uuidHex's digits are spread as random bytes' are: each hex digit of the random part near 1/16", () => {
  // The fixed nibbles (version, variant's top bits) aside, 2,048 ids give each of the 30 random
  // positions 2,048 digits: a position stuck at one value, or a batch repeated, fails this.
  const counts = Array.from({ length: 32 }, () => new Array<number>(16).fill(0))
  for (let i = 0; i < 2048; i++) {
    const id = uuidHex()
    for (let p = 0; p < 32; p++) counts[p]![parseInt(id[p]!, 16)]!++
  }
  for (let p = 0; p < 32; p++) {
    if (p === 12 || p === 16) continue
    // Expected 128 per digit; 60..220 is over 6 standard deviations either side.
    for (const c of counts[p]!) expect(c >= 60 && c <= 220).toBe(true)
  }
  expect(counts[12]![4]).toBe(2048)
  expect(counts[16]!.slice(8, 12).reduce((a, b) => a + b)).toBe(2048)
})
