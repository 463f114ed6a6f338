/**
 * Samples CPU and memory in the background once a second so `GET /metrics` answers at once
 * (the reference blocks every request for a 1 s CPU sample). Runs only while someone asked
 * recently, so an idle daemon does no work.
 */
import { cpuPercent, takeReading, type Reading } from './cgroup'

export interface Metrics {
  cpu_count: number
  cpu_used_pct: number
  mem_total_mib: number
  mem_used_mib: number
  /** Unix ms of the sample. */
  timestamp: number
}

const MIB = 1024 * 1024
const round = (n: number) => Math.round(n * 100) / 100

export class Sampler {
  private prev: Reading | undefined
  private latest: Metrics | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private lastAsked = 0
  /** The cold sampler's first window, while callers wait for it. */
  private first: Promise<void> | undefined
  private listeners = new Set<(m: Metrics) => void>()

  constructor(
    private readonly root = '/',
    private readonly intervalMs = 1000,
    /** Stop sampling after this long without a request or a watcher. */
    private readonly idleMs = 60_000,
  ) {}

  /**
   * The newest sample; on a cold sampler, one short window to measure CPU, shared by every
   * caller in it. Each used to take its own sample at the window's end and hand it to every
   * watcher: 250 watchers opened at once were 250 readings of /proc and 62,500 deliveries in
   * one turn of the event loop (0.7 s of its CPU, /ping held 1.2–2 s).
   */
  async current(): Promise<Metrics> {
    this.lastAsked = performance.now()
    this.ensureRunning()
    if (!this.latest) await (this.first ??= this.firstSample())
    return this.latest!
  }

  private async firstSample(): Promise<void> {
    try {
      await new Promise(r => setTimeout(r, 100))
      if (!this.latest) this.tick()
    } finally {
      this.first = undefined
    }
  }

  /** Calls `fn` with each new sample until the returned function is called. */
  subscribe(fn: (m: Metrics) => void): () => void {
    this.listeners.add(fn)
    this.ensureRunning()
    return () => this.listeners.delete(fn)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.prev = undefined
    this.latest = undefined
  }

  private ensureRunning(): void {
    if (this.timer) return
    // A reading that fails here fails again in the first tick, which the caller reports.
    try {
      this.prev = takeReading(this.root)
    } catch {}
    this.timer = setInterval(() => {
      if (this.listeners.size === 0 && performance.now() - this.lastAsked > this.idleMs) return this.stop()
      // A reading that failed (no fd free) keeps the last sample, dated when it was taken.
      try {
        this.tick()
      } catch {}
    }, this.intervalMs)
    // A sampler must never keep a CLI process alive.
    this.timer.unref?.()
  }

  private tick(): void {
    const next = takeReading(this.root)
    const prev = this.prev ?? next
    this.prev = next
    this.latest = {
      cpu_count: next.cpuCount,
      cpu_used_pct: cpuPercent(prev, next),
      mem_total_mib: round(next.memTotalBytes / MIB),
      mem_used_mib: round(next.memUsedBytes / MIB),
      timestamp: next.at,
    }
    for (const fn of this.listeners) fn(this.latest)
  }
}
