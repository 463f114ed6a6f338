/**
 * Housekeeping of one period shares one timer: the awake clock's look and the descriptor check
 * each second, the sweeps of contexts, commands and terminals each 30 s. Each timer woke an
 * idle daemon on its own, at its own phase (the clock's look and the descriptor check 50 ms
 * apart, every second), and each wake-up of an idle process pays its caches cold, ~150 µs of
 * main-thread CPU (CHANGELOG, round 35); one wake-up that does both pays that once. A job
 * joins the timer already running at its period, so its first run comes within a period, not
 * at one exactly: every job here asks only that no more than a period pass between two runs.
 */

type Job = () => void

interface Shared {
  jobs: Set<Job>
  timer: ReturnType<typeof setInterval>
}

const byPeriod = new Map<number, Shared>()

/** Runs `job` every `ms` (on the timer every job of that period shares) until the returned call. */
export function shareInterval(ms: number, job: Job): () => void {
  let shared = byPeriod.get(ms)
  if (!shared) {
    const jobs = new Set<Job>()
    const timer = setInterval(() => runAll(jobs), ms)
    // Housekeeping holds nothing open: a CLI verb exits as if it were not there.
    timer.unref?.()
    shared = { jobs, timer }
    byPeriod.set(ms, shared)
  }
  // The same function twice is two jobs: each call's stop ends its own.
  const own: Job = () => job()
  shared.jobs.add(own)
  const { jobs, timer } = shared
  return () => {
    if (!jobs.delete(own) || jobs.size > 0) return
    clearInterval(timer)
    if (byPeriod.get(ms)?.timer === timer) byPeriod.delete(ms)
  }
}

function runAll(jobs: Set<Job>): void {
  let failed: { err: unknown } | undefined
  for (const job of [...jobs]) {
    try {
      job()
    } catch (err) {
      failed ??= { err }
    }
  }
  // As a timer of its own would throw it, once the other jobs have run.
  if (failed) throw failed.err
}

/** The timers running now, by period: how many jobs each runs (for tests). */
export function sharedTimers(): Map<number, number> {
  return new Map([...byPeriod].map(([ms, s]) => [ms, s.jobs.size]))
}
