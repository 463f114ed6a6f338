import { expect, test } from 'bun:test'
import { LogThrottle } from './log-throttle'

test('one line a second for each key; the next one says how many were left out', () => {
  const t = new LogThrottle(1000)
  expect(t.admit('fd', 0)).toBe(0)
  expect(t.admit('fd', 10)).toBeUndefined()
  expect(t.admit('fd', 999)).toBeUndefined()
  expect(t.admit('pids', 500)).toBe(0)
  expect(t.admit('fd', 1000)).toBe(2)
  expect(t.admit('fd', 2500)).toBe(0)
})

test('past its keys it starts over instead of growing', () => {
  const t = new LogThrottle(1000, 2)
  expect(t.admit('a', 0)).toBe(0)
  expect(t.admit('b', 0)).toBe(0)
  expect(t.admit('c', 0)).toBe(0)
  expect(t.admit('a', 1)).toBe(0)
})
