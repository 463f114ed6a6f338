import { expect, test } from 'bun:test'
import { saidWhenSilent } from './daemon-quiet'

/** Items given at the times asked (ms after the previous one's ask). */
async function* paced(delays: number[]): AsyncGenerator<number> {
  for (const [i, ms] of delays.entries()) {
    await Bun.sleep(ms)
    yield i
  }
}

test('a silence is said once per silence, and every item passes', async () => {
  let said = 0
  const got: number[] = []
  for await (const n of saidWhenSilent(paced([0, 120, 0]), 50, () => said++)) got.push(n)
  expect([got, said]).toEqual([[0, 1, 2], 1])
})

test('a consumer slow to ask for the next item is no silence', async () => {
  let said = 0
  for await (const _ of saidWhenSilent(paced([0, 0, 0]), 50, () => said++)) await Bun.sleep(120)
  expect(said).toBe(0)
})

test('a consumer that leaves early lets the source go', async () => {
  let closed = false
  async function* source() {
    try {
      yield 1
      yield 2
    } finally {
      closed = true
    }
  }
  for await (const _ of saidWhenSilent(source(), 50, () => {})) break
  expect(closed).toBe(true)
})

test('a long silence after quick items is said once, at its own length', async () => {
  let said = 0
  const got: number[] = []
  for await (const n of saidWhenSilent(paced([0, 0, 0, 0, 250, 0]), 100, () => said++)) got.push(n)
  expect([got, said]).toEqual([[0, 1, 2, 3, 4, 5], 1])
})

test('a silence is said again after an item ends the one before', async () => {
  let said = 0
  for await (const _ of saidWhenSilent(paced([0, 250, 250]), 100, () => said++));
  expect(said).toBe(2)
})

test('a notice of 0 never says a silence, and every item passes', async () => {
  let said = 0
  const got: number[] = []
  for await (const n of saidWhenSilent(paced([0, 150]), 0, () => said++)) got.push(n)
  expect([got, said]).toEqual([[0, 1], 0])
})
