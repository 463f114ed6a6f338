/**
 * A minimum rate for a request body read as a stream (an upload), like Apache mod_reqtimeout's
 * MinRate but over a sliding window: in every `windowMs` spent waiting for the client, at least
 * `bytesPerSecond × windowMs / 1000` bytes must arrive, or the body is a 408. Bun's idle timeout
 * (120 s) restarts on every byte, so an upload trickled a byte every two minutes held a request
 * slot and a staged file for as long as its client liked, and `--max-requests` of them made
 * every request a 503.
 *
 * Only time spent waiting for the client counts: while execd writes to a slow disk it does not
 * read, and the bytes the client sent meanwhile arrive at once when it reads again. A real slow
 * client (a phone on a bad link) stalls for a while and then catches up; only a body that stays
 * below the rate for a whole window trips.
 */
import { awakeLookEvery, awakeNow } from './awake-clock'
import { ExecdError } from './errors'

export interface MinRateLimits {
  /** 0 = no minimum. */
  bytesPerSecond: number
  windowMs: number
}

/** Arrivals closer than a window / SLOTS are one sample: the history stays this short. */
const SLOTS = 64
/** The watchdog looks this many times per window: a trickle is found within 1/CHECKS late. */
const CHECKS = 16
const MAX_CHECK_MS = 60_000

export class MinRate {
  /** ms spent waiting for the client so far (reads pending), not counting a read in progress. */
  private waited = 0
  private readingSince: number | undefined
  private total = 0
  /** [waited-clock ms, bytes received by then], oldest first; the last has `total`. */
  private samples: [number, number][] = [[0, 0]]
  private readonly need: number
  private readonly slot: number

  constructor(
    readonly limits: MinRateLimits,
    // Time execd ran: a stop of execd is no wait for the client (core/awake-clock.ts).
    private readonly now: () => number = awakeNow,
  ) {
    this.need = (limits.bytesPerSecond * limits.windowMs) / 1000
    this.slot = limits.windowMs / SLOTS
  }

  get enabled(): boolean {
    return this.need > 0
  }

  /** A read from the client begins. */
  begin(): void {
    this.readingSince = this.now()
  }

  /** That read ended with `bytes` (0 at the end of the body). */
  end(bytes: number): void {
    if (this.readingSince === undefined) return
    this.waited += this.now() - this.readingSince
    this.readingSince = undefined
    if (bytes <= 0) return
    this.total += bytes
    const last = this.samples[this.samples.length - 1]!
    // Merged into the last sample as if they had all come at the latest time: later, so the
    // rule is at most a slot more lenient, never stricter.
    if (this.samples.length > 1 && this.waited - last[0] < this.slot) {
      last[0] = this.waited
      last[1] = this.total
    } else this.samples.push([this.waited, this.total])
    // Only the first sample past `total - need` bounds the window; the ones before it never will.
    const floor = this.total - this.need
    while (this.samples.length > 1 && this.samples[0]![1] <= floor) this.samples.shift()
  }

  /**
   * Whether the rule is broken now: the bytes of the last window of waiting (a read pending
   * counts as waiting) are fewer than it needs. Waiting is on the awake clock: while execd is
   * stopped (SIGSTOP, `docker pause`) the client goes on sending into the kernel's buffers, read
   * only after the watchdog's next look (timers run before the poll for I/O); an upload keeping
   * 20 KB/s through a 10 s stop of execd was a 408 the moment execd was resumed (a 5 s window).
   */
  broken(): boolean {
    if (!this.enabled) return false
    const waited = this.waited + (this.readingSince === undefined ? 0 : this.now() - this.readingSince)
    // The window ending now began after the first sample that keeps it above the floor.
    return waited >= this.samples[0]![0] + this.limits.windowMs
  }

  /** ms between checks of `broken` for this rule. */
  get checkEveryMs(): number {
    return Math.max(10, Math.min(MAX_CHECK_MS, this.limits.windowMs / CHECKS))
  }

  error(): ExecdError {
    return new ExecdError(
      'REQUEST_TIMEOUT',
      `upload slower than ${this.limits.bytesPerSecond} bytes/s over ${this.limits.windowMs} ms ` +
        '(--upload-min-rate, --upload-rate-window)',
    )
  }
}

/**
 * Reads `reader` under `rule`: one watchdog timer for the whole body (a timer per read cost a
 * body of 1-byte chunks seconds of CPU, core/body.ts), which cancels the reader when the rule
 * breaks; the read pending then ends and `read` throws the 408.
 */
export class PacedReader<T extends { byteLength: number }> {
  private timer: ReturnType<typeof setInterval> | undefined
  private late = false
  private lookEnds: (() => void) | undefined

  constructor(
    private readonly reader: ReadableStreamDefaultReader<T>,
    private readonly rule: MinRate | undefined,
  ) {}

  async read(): ReturnType<ReadableStreamDefaultReader<T>['read']> {
    const rule = this.rule
    if (!rule?.enabled) return this.reader.read()
    if (this.late) throw rule.error()
    // The awake clock is looked at as often as the watchdog looks: it finds a stop of execd to
    // within the watchdog's period, where its own 1 s ticker would leave a second of the stop
    // counted, a window of 1 s.
    this.lookEnds ??= awakeLookEvery(rule.checkEveryMs)
    this.timer ??= setInterval(() => {
      if (!rule.broken()) return
      this.late = true
      this.stop()
      void this.reader.cancel().catch(() => {})
    }, rule.checkEveryMs)
    // The request holds the process, not the watchdog.
    this.timer.unref?.()
    rule.begin()
    let bytes = 0
    try {
      const result = await this.reader.read()
      if (!result.done) bytes = result.value.byteLength
      if (this.late) throw rule.error()
      return result
    } finally {
      rule.end(bytes)
    }
  }

  /** Ends the watchdog (the body is done with, whatever the outcome). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.lookEnds?.()
    this.lookEnds = undefined
  }
}
