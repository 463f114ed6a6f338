/**
 * A clock of the time execd was running: monotonic ms that a stop of execd (SIGSTOP, a frozen
 * cgroup as `docker pause` makes) does not advance. The deadlines about a client's wait count on
 * it (docs/stops.md lists which, and which stay real time): the wall clock and CLOCK_MONOTONIC
 * both go on while a process is stopped, and a context idle 20 s was closed, an upload keeping
 * its rate a 408, the moment execd resumed from a stop, their clients having had no chance to act.
 *
 * A ticker looks at the clock every period (1 s, or less while a reader asks for less: the
 * upload watchdog), so between two looks no more than a period passes while execd runs. A gap
 * of more than two periods is execd stopped or its event loop held by its own work; the main
 * thread's scheduler clock (core/sched-clock.ts) tells which: a stopped thread neither runs nor
 * waits for a core, a busy one does one or the other. What the gap holds beyond that and one
 * period (the loop may have slept in epoll up to a period before the stop) is taken off. The gap
 * is found by whichever read comes first after the resume (an expiry's timer, the watchdog, the
 * ticker), so none of them sees the stop as time. A thread asleep in a system call (a
 * synchronous read of a hung file) is taken for stopped too: such a stall stretches limits.
 */
import { runnableMs } from './sched-clock'
import { shareInterval } from './shared-interval'
import { MAX_TIMER_MS, setLongTimeout, withinTimer, type LongTimer } from './timers'

const PERIOD_MS = 1000

export interface AwakeSources {
  /** Monotonic ms (performance.now). */
  mono(): number
  /** ms the main thread wanted to run (core/sched-clock.ts). */
  runnable(): number
}

export class AwakeClock {
  private last: number
  private ranAtLast: number
  private skipped = 0
  /** The clock never goes back: a read found a gap after one that did not see it. */
  private given = -Infinity
  private readonly asked: number[] = []
  private periodMs: number

  constructor(
    private readonly src: AwakeSources,
    private readonly basePeriodMs = PERIOD_MS,
  ) {
    this.last = src.mono()
    this.ranAtLast = src.runnable()
    this.periodMs = basePeriodMs
  }

  /** The longest a look waits for the next while execd runs. */
  get period(): number {
    return this.periodMs
  }

  /** The ticker's look: every period. */
  tick(): void {
    this.look(this.src.mono())
  }

  /** ms on the awake clock (comparable only with each other). */
  now(): number {
    const now = this.src.mono()
    // Between looks nothing is read but the monotonic clock: reads are on hot paths.
    if (now - this.last > 2 * this.periodMs) this.look(now)
    const awake = now - this.skipped
    if (awake > this.given) this.given = awake
    return this.given
  }

  /** ms taken off so far as time execd did not run (for tests and logs). */
  get skippedMs(): number {
    return this.skipped
  }

  /** A reader will look every `ms` (its ticker runs that often) until the returned call. */
  lookEvery(ms: number): () => void {
    this.look(this.src.mono())
    this.asked.push(ms)
    this.periodMs = Math.min(this.basePeriodMs, ...this.asked)
    let done = false
    return () => {
      if (done) return
      done = true
      // Looked at under the old period before the new one holds.
      this.look(this.src.mono())
      this.asked.splice(this.asked.indexOf(ms), 1)
      this.periodMs = Math.min(this.basePeriodMs, ...this.asked)
    }
  }

  private look(now: number): void {
    const ran = this.src.runnable()
    const gap = now - this.last
    if (gap > 2 * this.periodMs) this.skipped += Math.max(0, gap - (ran - this.ranAtLast) - this.periodMs)
    this.last = now
    this.ranAtLast = ran
  }
}

let made: AwakeClock | undefined
/** execd's clock, made at its first read (none before listening: core/sched-clock.ts). */
const theClock = () => (made ??= new AwakeClock({ mono: () => performance.now(), runnable: runnableMs }))
let ticker: (() => void) | undefined
let tickerMs = 0

function keepTicking(): void {
  const clock = theClock()
  if (ticker && tickerMs === clock.period) return
  ticker?.()
  tickerMs = clock.period
  // On the timer other housekeeping of its period runs on (the descriptor check each second):
  // one wake-up of an idle daemon for both (core/shared-interval.ts).
  ticker = shareInterval(tickerMs, () => clock.tick())
}

/** ms on execd's awake clock (comparable only with each other). */
export function awakeNow(): number {
  if (!ticker) keepTicking()
  return made!.now()
}

/** ms taken off so far as time execd did not run (for tests and logs). */
export const skippedMs = (): number => made?.skippedMs ?? 0

/**
 * The clock is looked at every `ms` until the returned call: a watchdog of a short period (the
 * upload's, 1/16 of its window) sees a stop to within that period, not a second.
 */
export function awakeLookEvery(ms: number): () => void {
  const release = theClock().lookEvery(ms)
  keepTicking()
  return () => {
    release()
    keepTicking()
  }
}

/** `fn` once `ms` have passed on the awake clock: a stop of execd meanwhile does not count. */
export function setAwakeTimeout(fn: () => void, ms: number): LongTimer {
  if (!(ms <= MAX_TIMER_MS)) return setLongAwakeTimeout(fn, ms)
  const start = awakeNow()
  // Its first read after a stop finds the stop: what is left is then waited for again. One
  // plain timer otherwise, as within() has: this guards every JSON body.
  const due = () => {
    const rest = ms - (awakeNow() - start)
    if (rest > 0) timer = setTimeout(due, rest)
    else fn()
  }
  let timer = setTimeout(due, ms)
  return { clear: () => clearTimeout(timer) }
}

/** setAwakeTimeout past setTimeout's range (core/timers.ts's setLongTimeout). */
function setLongAwakeTimeout(fn: () => void, ms: number): LongTimer {
  const start = awakeNow()
  let timer: LongTimer | undefined
  let cleared = false
  const arm = (left: number) => {
    timer = setLongTimeout(() => {
      if (cleared) return
      const rest = ms - (awakeNow() - start)
      if (rest > 0) arm(rest)
      else fn()
    }, left)
  }
  arm(ms)
  return {
    clear: () => {
      cleared = true
      timer?.clear()
    },
  }
}

/** `promise`, or 'timeout' after `ms` on the awake clock (core/timers.ts's `within`). */
export const withinAwake = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  withinTimer(promise, fire => setAwakeTimeout(fire, ms))
