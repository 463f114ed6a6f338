import { expect, test } from 'bun:test'
import { Admission } from './admission'
import { Capacity } from './limits'
import { Refusals } from './slot-wants'

test('refusals want one slot until a cut answers them, a slot is taken or freed, or a period passes', () => {
  const r = new Refusals(1000)
  expect(r.wanted(0)).toBe(0)
  r.refused(0)
  r.refused(10)
  // One client retrying cannot be told from two: one holder a look.
  expect(r.wanted(20)).toBe(1)
  r.answered()
  expect(r.wanted(20)).toBe(0)
  r.refused(30)
  r.served()
  expect(r.wanted(40)).toBe(0)
  r.refused(100)
  expect(r.wanted(1100)).toBe(1)
  // Its client went away, or got one elsewhere: a stale refusal ends nobody.
  expect(r.wanted(1101)).toBe(0)
})

test("a full pool's refusal is wanted until a slot of it is taken", () => {
  const pool = new Capacity('things', 1, 'max-things')
  const release = pool.acquire('a')
  expect(pool.wanted()).toBe(0)
  expect(() => pool.acquire('b')).toThrow('limit reached')
  expect(pool.wanted()).toBe(1)
  release()
  // Given back: the refused may have it now.
  expect(pool.wanted()).toBe(0)
  pool.acquire('b')
  expect(() => pool.acquire('c')).toThrow('limit reached')
  expect(pool.wanted()).toBe(1)
})

test('a line in front of a pool wants as many slots as wait in it', async () => {
  const line = new Admission(new Capacity('walks', 1, 'max-walks'), 4, 60_000)
  const release = await line.enter('a')
  const waiting = [line.enter('b'), line.enter('c')]
  expect(line.wanted()).toBe(2)
  release()
  const next = await waiting[0]!
  expect(line.wanted()).toBe(1)
  next()
  ;(await waiting[1]!)()
  expect(line.wanted()).toBe(0)
})
