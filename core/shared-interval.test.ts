import { expect, test } from 'bun:test'
import { reclaimIdleAtFdLimit } from './idle-reclaim'
import { awakeNow } from './awake-clock'
import { sharedTimers, shareInterval } from './shared-interval'

/** Until `ran` has `n` more entries than `from` (no deadline of its own: the test's). */
async function more(ran: string[], from: number, n: number): Promise<void> {
  while (ran.length < from + n) await Bun.sleep(5)
}

test('jobs of one period run on one timer, which ends with its last job', async () => {
  const ran: string[] = []
  const stopA = shareInterval(20, () => ran.push('a'))
  const stopB = shareInterval(20, () => ran.push('b'))
  expect(sharedTimers().get(20)).toBe(2)
  await more(ran, 0, 4)
  // Each run of the timer runs both, in the order they joined.
  expect(ran.slice(0, 4)).toEqual(['a', 'b', 'a', 'b'])
  stopA()
  stopA()
  expect(sharedTimers().get(20)).toBe(1)
  const before = ran.length
  await more(ran, before, 2)
  expect(ran.slice(before).every(r => r === 'b')).toBe(true)
  stopB()
  expect(sharedTimers().has(20)).toBe(false)
  const after = ran.length
  await Bun.sleep(60)
  expect(ran.length).toBe(after)
})

test('the same function joined twice is two jobs, each stopped on its own', () => {
  const job = () => {}
  const one = shareInterval(30, job)
  const two = shareInterval(30, job)
  expect(sharedTimers().get(30)).toBe(2)
  one()
  expect(sharedTimers().get(30)).toBe(1)
  two()
  expect(sharedTimers().has(30)).toBe(false)
})

test("the descriptor check runs on the awake clock's timer: one wake-up a second for both", () => {
  awakeNow()
  const jobs = sharedTimers().get(1000) ?? 0
  expect(jobs).toBeGreaterThan(0)
  const stop = reclaimIdleAtFdLimit({ closeIdleConnections: () => 0 }, console as never, 1000)
  expect(sharedTimers().get(1000)).toBe(jobs + 1)
  stop()
  expect(sharedTimers().get(1000)).toBe(jobs)
})
