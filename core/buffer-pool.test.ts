import { expect, test } from 'bun:test'
import { BufferPool } from './buffer-pool'

test('at most max buffers are out; a taker waits for one given back, first come first served', async () => {
  const pool = new BufferPool(16, 2)
  const a = await pool.take()
  const b = pool.tryTake()!
  expect(pool.tryTake()).toBeUndefined()
  const order: string[] = []
  const first = pool.take().then(buffer => (order.push('first'), buffer))
  const second = pool.take().then(buffer => (order.push('second'), buffer))
  pool.give(a)
  expect(await first).toBe(a)
  // Handed on to the waiter, not kept: none is free.
  expect(pool.tryTake()).toBeUndefined()
  pool.give(b)
  expect(await second).toBe(b)
  expect(order).toEqual(['first', 'second'])
  expect(pool.counts()).toEqual({ out: 2, free: 0 })
})

test('buffers given back are kept for the next taker, and let go once none has been out for a second', async () => {
  const pool = new BufferPool(16, 4)
  const a = pool.tryTake()!
  pool.give(a)
  expect(pool.tryTake()).toBe(a)
  pool.give(a)
  expect(pool.counts()).toEqual({ out: 0, free: 1 })
  await Bun.sleep(1100)
  expect(pool.counts()).toEqual({ out: 0, free: 0 })
})
