import { describe, expect, test } from 'bun:test'
import { AwakeClock, awakeNow, setAwakeTimeout, skippedMs } from './awake-clock'
import { schedClock } from './sched-clock'

/** A clock on monotonic and scheduler clocks the test moves (1 s period). */
function fake() {
  let t = 0
  let ran = 0
  const clock = new AwakeClock({ mono: () => t, runnable: () => ran })
  return {
    clock,
    /** execd idle (asleep in epoll) for `ms`, its ticker looking every second. */
    idle(ms: number) {
      for (let left = ms; left > 0; left -= 1000) {
        t += Math.min(1000, left)
        clock.tick()
      }
    },
    /** execd stopped for `ms`: the monotonic clock goes on, its thread neither runs nor waits. */
    stopped(ms: number) {
      t += ms
    },
    /** execd's event loop held `ms` by its own work: its thread on a core or waiting for one. */
    busy(ms: number) {
      t += ms
      ran += ms
    },
  }
}

describe('AwakeClock', () => {
  test('a stop is taken off, all of it past one period', () => {
    const f = fake()
    const before = f.clock.now()
    f.idle(5_000)
    f.stopped(20_000)
    expect(f.clock.now() - before).toBe(5_000 + 1_000)
    f.idle(3_000)
    expect(f.clock.now() - before).toBe(9_000)
  })

  test('an event loop held by execd itself is time it ran, however long', () => {
    const f = fake()
    const before = f.clock.now()
    f.busy(2_500)
    f.clock.tick()
    f.busy(30_000)
    expect(f.clock.now() - before).toBe(32_500)
    expect(f.clock.skippedMs).toBe(0)
  })

  test('a stop after a stretch of work: only the stop is taken off', () => {
    const f = fake()
    const before = f.clock.now()
    f.busy(3_000)
    f.stopped(10_000)
    expect(f.clock.now() - before).toBe(3_000 + 1_000)
  })

  test('a reader looking more often sees a stop to within its period; released, the period is back', () => {
    const f = fake()
    const release = f.clock.lookEvery(50)
    expect(f.clock.period).toBe(50)
    const before = f.clock.now()
    f.stopped(2_000)
    expect(f.clock.now() - before).toBe(50)
    release()
    expect(f.clock.period).toBe(1_000)
  })

  test('it never goes back', () => {
    const f = fake()
    f.idle(1_000)
    f.stopped(1_900)
    const first = f.clock.now()
    f.stopped(5_000)
    expect(f.clock.now()).toBeGreaterThanOrEqual(first)
  })

  test.skipIf(schedClock() === undefined)(
    "execd's own clock: a busy loop of 2.5 s holding the event loop is not taken for a stop",
    () => {
      const before = awakeNow()
      const skipped = skippedMs()
      const start = performance.now()
      // The spin reads only the monotonic clock: no look of the awake clock can run meanwhile.
      while (performance.now() - start < 2_500) {}
      const spun = performance.now() - start
      const after = awakeNow()
      expect(skippedMs() - skipped).toBe(0)
      expect(after - before).toBeGreaterThanOrEqual(spun)
    },
  )

  test('an awake timeout fires after its time', async () => {
    const start = awakeNow()
    const fired = await new Promise<number>(resolve => setAwakeTimeout(() => resolve(awakeNow()), 30))
    expect(fired - start).toBeGreaterThanOrEqual(30)
  })
})
