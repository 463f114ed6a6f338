import { expect, test } from 'bun:test'
import { LeafRefusals } from './leaf-refusals'

test('three refusals in a row pause spawning into leaves for 1 s, doubling to 10 min', () => {
  let now = 0
  const refusals = new LeafRefusals(() => now)
  refusals.refused()
  refusals.refused()
  expect(refusals.open).toBe(true)
  refusals.refused()
  expect(refusals.open).toBe(false)
  now += 999
  expect(refusals.open).toBe(false)
  now += 1
  expect(refusals.open).toBe(true)
  // Each retry refused doubles the pause, never past 10 min.
  const pauses: number[] = []
  for (let i = 0; i < 12; i++) {
    refusals.refused()
    const start = now
    while (!refusals.open) now += 1000
    pauses.push(now - start)
  }
  expect(pauses.slice(0, 4)).toEqual([2000, 4000, 8000, 16000])
  expect(pauses.at(-1)).toBe(600_000)
})

test('a spawn a leaf took forgets the refusals and the pause', () => {
  let now = 0
  const refusals = new LeafRefusals(() => now)
  for (let i = 0; i < 5; i++) {
    refusals.refused()
    while (!refusals.open) now += 1000
  }
  refusals.joined()
  refusals.refused()
  refusals.refused()
  expect(refusals.open).toBe(true)
  refusals.refused()
  now += 1000
  expect(refusals.open).toBe(true)
})
