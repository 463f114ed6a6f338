import { describe, expect, test } from 'bun:test'
import { AwakeClock } from './awake-clock'
import { MinRate } from './min-rate'

/** A rule of 100 bytes/s over 10 s (1,000 bytes per window) on a clock the test moves. */
function rule() {
  let t = 0
  const r = new MinRate({ bytesPerSecond: 100, windowMs: 10_000 }, () => t)
  /** Waits `ms` for the client, which then sends `bytes`. */
  const wait = (ms: number, bytes: number) => {
    r.begin()
    t += ms
    r.end(bytes)
  }
  const pending = (ms: number) => {
    r.begin()
    t += ms
  }
  /** A read still pending `ms` later. */
  const more = (ms: number) => {
    t += ms
  }
  return { r, wait, pending, more }
}

describe('MinRate', () => {
  test('a body below the rate for a whole window breaks it; not before the window ends', () => {
    const { r, pending, more } = rule()
    pending(9_999)
    expect(r.broken()).toBe(false)
    more(1)
    expect(r.broken()).toBe(true)
  })

  test('a trickle breaks it, however long it has gone on', () => {
    const { r, wait } = rule()
    let broken = false
    for (let i = 0; i < 1000 && !broken; i++) {
      wait(1000, 1)
      broken = r.broken()
    }
    expect(broken).toBe(true)
  })

  test('a burst then a stall shorter than the window is kept; a stall of a whole window is not', () => {
    const { r, wait, pending, more } = rule()
    wait(100, 5_000)
    pending(9_000)
    expect(r.broken()).toBe(false)
    r.end(1_000)
    pending(9_800)
    expect(r.broken()).toBe(false)
    more(300)
    expect(r.broken()).toBe(true)
  })

  test('time execd spends not reading (a slow disk) does not count', () => {
    const { r, wait } = rule()
    for (let i = 0; i < 100; i++) wait(100, 200)
    // Long gaps between reads are never seen: only waits are.
    expect(r.broken()).toBe(false)
  })

  test('a rate of 0 never breaks', () => {
    let t = 0
    const r = new MinRate({ bytesPerSecond: 0, windowMs: 1000 }, () => t)
    r.begin()
    t += 1e9
    expect(r.broken()).toBe(false)
  })

  test('the history stays short for a body of many tiny chunks', () => {
    const { r, wait } = rule()
    for (let i = 0; i < 100_000; i++) wait(1, 1)
    expect(r.broken()).toBe(false)
    expect((r as unknown as { samples: unknown[] }).samples.length).toBeLessThanOrEqual(70)
  })
  test("the watchdog's looks do not count a stop of execd as waiting; a client that stopped still trips", () => {
    // The rule on an awake clock whose monotonic and scheduler clocks the test moves: during a
    // stop the first goes on, the second (the time execd's thread wanted to run) does not.
    let t = 0
    let ran = 0
    const clock = new AwakeClock({ mono: () => t, runnable: () => ran })
    const r = new MinRate({ bytesPerSecond: 100, windowMs: 10_000 }, () => clock.now())
    const every = r.checkEveryMs
    clock.lookEvery(every)
    /** `ms` pass with execd running (idle: waiting for the client). */
    const more = (ms: number) => {
      t += ms
      clock.tick()
    }
    // Sending steadily: a read pending, the client's bytes taken at each look.
    r.begin()
    for (let i = 0; i < 8; i++) {
      more(every)
      expect(r.broken()).toBe(false)
      r.end(1_000)
      r.begin()
    }
    // execd stopped for 3 windows: its next look comes that late; the bytes sent meanwhile wait
    // in the kernel until after it.
    t += 30_000
    expect(r.broken()).toBe(false)
    r.end(3_000)
    r.begin()
    // The client gone quiet, with execd running: a window later it trips as before.
    let tripped = false
    for (let i = 0; i < 17 && !tripped; i++) {
      more(every)
      tripped = r.broken()
    }
    expect(tripped).toBe(true)
  })

  test("a look held late by execd's own work (its thread busy) is waiting as before", () => {
    let t = 0
    let ran = 0
    const clock = new AwakeClock({ mono: () => t, runnable: () => ran })
    const r = new MinRate({ bytesPerSecond: 100, windowMs: 10_000 }, () => clock.now())
    clock.lookEvery(r.checkEveryMs)
    r.begin()
    // A 12 s stretch of execd's own CPU work while the client sent nothing: not a stop.
    t += 12_000
    ran += 12_000
    expect(r.broken()).toBe(true)
  })
})
