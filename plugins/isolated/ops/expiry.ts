/**
 * Idle expiry of the isolated sessions, each with a timeout of its own (`idle_timeout_seconds`,
 * so not core/limits' IdleExpiry, whose keys share one), on one timer for all of them: armed for
 * the soonest deadline, armed again for the next one when it fires. A timer per session meant
 * thousands of timers for thousands of idle sessions, each cleared and made again on every run.
 */
import { awakeNow } from '../../../core/awake-clock'
import { setLongTimeout, type LongTimer } from '../../../core/timers'

export class Deadlines<K> {
  private readonly due = new Map<K, number>()
  private timer: LongTimer | undefined
  private timerAt = Infinity

  /** `expire` hears each key whose deadline has passed (the key is forgotten first). */
  constructor(private readonly expire: (key: K) => void) {}

  /**
   * `key` expires at `at` on the awake clock (core/awake-clock.ts: a stop of execd is no idle
   * time), instead of when it was set to.
   */
  set(key: K, at: number): void {
    this.due.set(key, at)
    if (at < this.timerAt) this.arm(at)
  }

  /**
   * `key` does not expire (in use, or gone). The timer stays: if it was this key's, it fires
   * for nothing and is armed for the next deadline, cheaper than finding that one now.
   */
  delete(key: K): void {
    this.due.delete(key)
  }

  /** Timers armed: one while any key has a deadline, however many. */
  get timers(): number {
    return this.timer ? 1 : 0
  }

  stop(): void {
    this.timer?.clear()
    this.timer = undefined
    this.timerAt = Infinity
    this.due.clear()
  }

  private arm(at: number): void {
    this.timer?.clear()
    this.timerAt = at
    this.timer = setLongTimeout(() => this.fire(), at - awakeNow())
  }

  private fire(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = awakeNow()
    const expired: [K, number][] = []
    let next = Infinity
    for (const entry of this.due) {
      if (entry[1] <= now) expired.push(entry)
      else if (entry[1] < next) next = entry[1]
    }
    // In deadline order, however late the timer fired (a loaded machine fires several at once).
    expired.sort((a, b) => a[1] - b[1])
    for (const [key] of expired) this.due.delete(key)
    if (next < Infinity) this.arm(next)
    for (const [key] of expired) this.expire(key)
  }
}
