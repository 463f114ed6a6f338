/**
 * A clock of the time execd was running: monotonic ms that a stop of execd (SIGSTOP, a frozen
 * cgroup as `docker pause` makes) does not advance. Idle expiry counts on it: the wall clock and
 * CLOCK_MONOTONIC both go on while a process is stopped, and a context idle 20 s was closed the
 * moment execd resumed from a 25 s stop, its client having had no chance to use it.
 *
 * Read as core/min-rate.ts reads its watchdog: a ticker reads the clock every PERIOD, so between
 * two reads no more than a period passes while execd runs; a gap of more than two periods is
 * time execd did not run (stopped, or its event loop held), and all of it past one period is
 * taken off. The gap is found by whichever read comes first after the resume — an expiry's
 * timer as well as the ticker — so none of them sees the stop as idle time.
 */

const PERIOD_MS = 1000

let last = performance.now()
let skipped = 0
let ticker: ReturnType<typeof setInterval> | undefined

/** ms on the awake clock (comparable only with each other). */
export function awakeNow(): number {
  const now = performance.now()
  const gap = now - last
  if (gap > 2 * PERIOD_MS) skipped += gap - PERIOD_MS
  last = now
  if (!ticker) {
    ticker = setInterval(awakeNow, PERIOD_MS)
    // The clock holds nothing open: a CLI verb exits as if it were not there.
    ticker.unref?.()
  }
  return now - skipped
}

/** ms taken off so far as time execd did not run (for tests and logs). */
export const skippedMs = (): number => skipped
