import { expect, test } from 'bun:test'
import { percentile, summarize } from './stats'

test('the median of an odd count is the middle sample', () => {
  expect(percentile([5, 1, 3], 0.5)).toBe(3)
})

test('p99 of 100 samples is the 99th smallest', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i)
  expect(percentile(xs, 0.99)).toBe(99)
})

test('a summary of no samples is NaN, not a crash', () => {
  expect(summarize([]).median).toBeNaN()
})
