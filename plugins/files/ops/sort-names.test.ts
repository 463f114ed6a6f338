import { expect, test } from 'bun:test'
import { sortIndices } from './sort-names'

test('sorting in slices gives the order of one sort(), across many slices and a last one part full', async () => {
  let seed = 7
  const random = () => (seed = (seed * 48271) % 2147483647)
  const names = Array.from({ length: 70_001 }, () => `n${random().toString(36)}`)
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const order = await sortIndices(names.length, (a, b) => byText(names[a]!, names[b]!))
  expect(Array.from(order, i => names[i])).toEqual([...names].sort())
  expect(new Set(order).size).toBe(names.length)
  expect(Array.from(await sortIndices(2, (a, b) => b - a))).toEqual([1, 0])
  expect(Array.from(await sortIndices(0, () => 0))).toEqual([])
})
