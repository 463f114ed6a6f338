/**
 * The main thread's scheduler clock (/proc/self/task/<pid>/schedstat): ms it spent on a CPU and
 * ms it spent runnable but waiting for one. Their sum is the time the thread wanted to run: a
 * thread stopped (SIGSTOP, a frozen cgroup) or asleep in a system call adds to neither, one
 * running JavaScript adds to one or the other however busy the machine's cores are (a 1 s busy
 * loop at load 5.4 on two cores: 278 ms on a CPU, 720 ms waiting for one). process.cpuUsage()
 * alone would call the 720 ms not running.
 */
// Loaded at the first read (after listening): node:fs costs every start 5-9 ms (core/layout.test.ts).
const procfs = () => require('./procfs') as typeof import('./procfs')

export interface SchedClock {
  run: number
  wait: number
}

const schedstat = `/proc/self/task/${process.pid}/schedstat`

/** The clock now; undefined where there is no schedstat (a kernel without CONFIG_SCHED_INFO). */
export function schedClock(): SchedClock | undefined {
  try {
    // Read each second by the awake clock's look, and by every reading of the loop-lag probe:
    // through a kept descriptor, one pread into a kept buffer, where readFileSync's open, two
    // reads into a fresh 256 KiB buffer and close left garbage for each idle second's collection.
    const [run, wait] = (procfs().readKept(schedstat) ?? '').split(' ').map(Number)
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined
    return { run: run! / 1e6, wait: wait! / 1e6 }
  } catch {
    return undefined
  }
}

let hasSchedstat: boolean | undefined
let lastRunnable = 0

/**
 * ms the main thread wanted to run so far, comparable only with each other: schedstat's run and
 * wait, or without it the process's CPU time (busy time spent waiting for a core is then missed).
 */
export function runnableMs(): number {
  // One source for the process's life: the two are not comparable with each other.
  hasSchedstat ??= schedClock() !== undefined
  if (hasSchedstat) {
    const c = schedClock()
    if (c) lastRunnable = c.run + c.wait
    return lastRunnable
  }
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}
