import { describe, expect, test } from 'bun:test'
import { Admission } from './admission'
import { Capacity } from './limits'

const gate = (max: number, waiting = 2, waitMs = 60_000) =>
  new Admission(new Capacity('concurrent walks', max, 'max-walks'), waiting, waitMs)

describe('Admission', () => {
  test('admits at once below the cap, then in the order the waiters came', async () => {
    const g = gate(1)
    const first = await g.enter('a')
    const order: string[] = []
    const second = g.enter('b').then(r => (order.push('b'), r))
    const third = g.enter('c').then(r => (order.push('c'), r))
    expect(g.queued).toBe(2)
    first()
    first() // idempotent: one slot handed on, not two
    ;(await second)()
    ;(await third)()
    expect(order).toEqual(['b', 'c'])
    expect([g.pool.count, g.queued]).toEqual([0, 0])
  })

  test('a full line refuses at once, naming the limit', async () => {
    const g = gate(1, 1)
    const held = await g.enter('a')
    const waiting = g.enter('b')
    await expect(g.enter('c')).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message:
        'limit reached: at most 1 concurrent walks (--max-walks), 1 more waiting already; try again when one ends or raise the limit',
    })
    held()
    ;(await waiting)()
  })

  test('a wait that runs out is refused and leaves the line', async () => {
    const g = gate(1, 2, 50)
    const held = await g.enter('a')
    await expect(g.enter('b')).rejects.toMatchObject({
      message:
        'limit reached: at most 1 concurrent walks (--max-walks), none came free in 50 ms; try again when one ends or raise the limit',
    })
    expect(g.queued).toBe(0)
    held()
    expect(g.pool.count).toBe(0)
  })

  test('a client that leaves while waiting is out of the line; the slot goes to the next', async () => {
    const g = gate(1)
    const held = await g.enter('a')
    const abort = new AbortController()
    const leaving = g.enter('b', abort.signal)
    const next = g.enter('c')
    abort.abort()
    await expect(leaving).rejects.toMatchObject({ code: 'RUNTIME_ERROR' })
    expect(g.queued).toBe(1)
    held()
    ;(await next)()
    expect([g.pool.count, g.queued]).toEqual([0, 0])
  })

  test('no cap (0): never waits', async () => {
    const g = gate(0, 0)
    const releases = await Promise.all(Array.from({ length: 100 }, () => g.enter('a')))
    for (const r of releases) r()
    expect(g.pool.count).toBe(0)
  })
})
