import { expect, test } from 'bun:test'
import { mapInSlices, sortInSlices } from './sort-names'

test('sorting in slices gives the order of one sort(), across many slices', async () => {
  let seed = 7
  const random = () => (seed = (seed * 48271) % 2147483647)
  const names = Array.from({ length: 70_000 }, () => `n${random().toString(36)}\0${random() % 2 ? 'd' : 'f'}`)
  names.push(...names.slice(0, 10)) // equal names keep their place
  expect(await sortInSlices([...names])).toEqual([...names].sort())
  expect(await sortInSlices(['b', 'a'])).toEqual(['a', 'b'])
  expect(await sortInSlices([])).toEqual([])
})

test('mapping in slices maps every item in order', async () => {
  const items = Array.from({ length: 40_000 }, (_, i) => i)
  expect(await mapInSlices(items, i => i * 2)).toEqual(items.map(i => i * 2))
})
