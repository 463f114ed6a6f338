/**
 * Caps on count-like resources (CONTRACT §1 "Limits"): sessions, contexts, terminals,
 * background commands, streams. A full pool answers 503 with the contract's JSON body naming
 * the limit and the option that raises it, so an operator knows what to change.
 */
import { ExecdError, knowOpenFilesLimit } from './errors'

/**
 * Reads the process's limit on open files (the soft one: Bun raises it to the hard one as it
 * starts) for the 503 of a full fd table (core/errors.ts), which cannot read it then.
 */
export async function learnOpenFilesLimit(): Promise<void> {
  try {
    const limits = await Bun.file('/proc/self/limits').text()
    knowOpenFilesLimit(Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? 0))
  } catch {}
}

export class Capacity {
  private used = 0

  /**
   * @param what  plural noun for messages: 'sessions', 'python contexts'
   * @param max   0 = no limit
   * @param flag  the option that sets `max`, named in the message
   */
  constructor(
    readonly what: string,
    readonly max: number,
    readonly flag: string,
  ) {}

  get count(): number {
    return this.used
  }

  /** Takes one slot or throws 503; the returned release is idempotent. */
  acquire(): () => void {
    if (this.max > 0 && this.used >= this.max) {
      throw new ExecdError(
        'SERVICE_UNAVAILABLE',
        `limit reached: at most ${this.max} ${this.what} (--${this.flag}); close one or raise the limit`,
      )
    }
    this.used++
    let released = false
    return () => {
      if (released) return
      released = true
      this.used--
    }
  }
}

/**
 * Expires idle things: `touch(key)` on use; `sweep()` (run every `every` ms while started)
 * hands `expire` each key idle for more than `idleMs`. 0 = never expire.
 */
export class IdleExpiry<K> {
  private readonly lastUse = new Map<K, number>()
  private timer?: ReturnType<typeof setInterval>

  constructor(
    private readonly idleMs: number,
    private readonly expire: (key: K) => void | Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  touch(key: K): void {
    this.lastUse.set(key, this.now())
  }

  forget(key: K): void {
    this.lastUse.delete(key)
  }

  /** Keys that are busy (running a cell, a client attached) are touched by their owner instead. */
  sweep(): K[] {
    if (this.idleMs <= 0) return []
    const limit = this.now() - this.idleMs
    const expired: K[] = []
    for (const [key, at] of this.lastUse) if (at < limit) expired.push(key)
    for (const key of expired) {
      this.lastUse.delete(key)
      void Promise.resolve()
        .then(() => this.expire(key))
        .catch(() => {})
    }
    return expired
  }

  start(every = Math.min(Math.max(this.idleMs / 4, 250), 30_000)): void {
    if (this.idleMs <= 0 || this.timer) return
    this.timer = setInterval(() => this.sweep(), every)
    this.timer.unref?.()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
