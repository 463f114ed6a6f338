/**
 * Memory of a process from /proc/<pid>/status. Peaks come from VmHWM after resetting it
 * (writing 5 to /proc/<pid>/clear_refs), with 20 ms VmRSS sampling as a fallback for
 * kernels that refuse the reset.
 */
import { readFileSync, writeFileSync } from 'node:fs'

const MiB = 1024 * 1024

export function statusField(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
  if (!m) throw new Error(`no ${field} for pid ${pid}`)
  return (Number(m[1]) * 1024) / MiB
}

/** Resident set size now, in MiB. */
export const rssMiB = (pid: number): number => statusField(pid, 'VmRSS')

/** Past this RSS a measurement is cut short: the machine is shared, and the row has failed anyway. */
export const RSS_GUARD_MIB = Number(process.env.BENCH_RSS_GUARD_MIB ?? 3072)

/** Watches one process's peak RSS between `start` and `stop`. */
export class PeakRss {
  private peak = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private hwmReset = false
  /** RSS when the watch started, in MiB. */
  before = 0
  /** Set once RSS went past the guard; `onGuard` was called then. */
  guarded = false

  constructor(
    private readonly pid: number,
    private readonly onGuard?: (rss: number) => void,
  ) {}

  start(): this {
    this.before = rssMiB(this.pid)
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5')
      this.hwmReset = true
    } catch {}
    this.peak = this.before
    this.timer = setInterval(() => this.sample(), 20)
    return this
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssMiB(this.pid))
    } catch {}
    if (this.peak > RSS_GUARD_MIB && !this.guarded) {
      this.guarded = true
      this.onGuard?.(this.peak)
    }
  }

  /** Peak RSS in MiB since start. */
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    if (this.hwmReset) {
      try {
        this.peak = Math.max(this.peak, statusField(this.pid, 'VmHWM'))
      } catch {}
    }
    return this.peak
  }
}
