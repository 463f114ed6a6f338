import { expect, test } from 'bun:test'
import { awakeNow } from '../../../core/awake-clock'
import { Deadlines } from './expiry'

/** Deadlines whose expiries are recorded in order, with when; `all` resolves once `n` have expired. */
function recorded(n: number) {
  const order: string[] = []
  const when: number[] = []
  const { promise: all, resolve } = Promise.withResolvers<void>()
  const d = new Deadlines<string>(key => {
    order.push(key)
    when.push(awakeNow())
    if (order.length === n) resolve()
  })
  return { d, order, when, all }
}

test('thousands of idle keys, one timer; each expires, none before its deadline', async () => {
  const { d, order, when, all } = recorded(3000)
  const now = awakeNow()
  // Deadlines a few ms apart, set in no particular order.
  const at = (i: number) => now + ((i * 7) % 30)
  for (let i = 0; i < 3000; i++) d.set(`k${i}`, at(i))
  expect(d.timers).toBe(1)
  await all
  expect(new Set(order).size).toBe(3000)
  expect(order.filter((k, i) => when[i]! < at(Number(k.slice(1))))).toEqual([])
  expect(d.timers).toBe(0)
})

test('a key set again expires at its new deadline; a deleted key never does', async () => {
  const { d, order, all } = recorded(2)
  const now = awakeNow()
  d.set('used-again', now + 1)
  d.set('gone', now + 2)
  d.set('idle', now + 5)
  d.delete('gone')
  d.set('used-again', now + 20) // a run ended: its timeout counts from now
  await all
  expect(order).toEqual(['idle', 'used-again'])
  expect(d.timers).toBe(0)
})

test('far deadlines keep one timer, and stop() clears it', () => {
  const d = new Deadlines<number>(() => {
    throw new Error('nothing expires here')
  })
  for (let i = 0; i < 1000; i++) d.set(i, awakeNow() + 3_600_000 + i)
  expect(d.timers).toBe(1)
  d.stop()
  expect(d.timers).toBe(0)
})
