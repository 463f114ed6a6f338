/**
 * Caps on count-like resources (CONTRACT §1 "Limits"): sessions, contexts, terminals,
 * background commands, streams. A full pool answers 503 with the contract's JSON body naming
 * the limit and the option that raises it, so an operator knows what to change.
 */
import { awakeNow } from './awake-clock'
import { ExecdError, knowOpenFilesLimit } from './errors'
import { type Held, heldOf, type Slot } from './held-slots'
import { shareInterval } from './shared-interval'
import { Refusals, type Wanted } from './slot-wants'

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

export class Capacity implements Wanted {
  /** Taken slots, oldest first: who holds the pool, when a refusal or SIGUSR2 asks. */
  private readonly slots = new Set<Slot>()
  /** Requests refused lately: each may end a holder the stall rule sees stalled (core/slot-wants.ts). */
  private readonly refusals = new Refusals()

  /**
   * @param what  plural noun for messages: 'sessions', 'python contexts'
   * @param max   0 = no limit
   * @param flag  the option that sets `max`, named in the message
   * @param live  how many of the things that own the slots exist (sessions, terminals): a pool
   *              holding more is a leak (core/held-slots.ts)
   */
  constructor(
    readonly what: string,
    readonly max: number,
    readonly flag: string,
    private readonly live?: () => number,
  ) {}

  get count(): number {
    return this.slots.size
  }

  /** Whether `acquire` would refuse now. */
  get full(): boolean {
    return this.max > 0 && this.slots.size >= this.max
  }

  /** Who holds the pool now (core/held-slots.ts). */
  held(): Held {
    return heldOf(this.what, this.max, this.slots, this.live?.())
  }

  /**
   * Takes one slot for `kind` (a route, a language: named in the refusal's log line) or throws
   * 503; the returned release is idempotent.
   */
  acquire(kind = ''): () => void {
    if (this.full) {
      this.refusals.refused()
      throw new ExecdError(
        'SERVICE_UNAVAILABLE',
        `limit reached: at most ${this.max} ${this.what} (--${this.flag}); close one or raise the limit`,
        { held: () => this.held() },
      )
    }
    const slot: Slot = { kind, at: performance.now() }
    this.slots.add(slot)
    this.refusals.served()
    return () => {
      // A slot free: those refused can have it. A refusal after a stalled holder was ended and
      // before its slot came back ended a second one (a slow reader) at the next look.
      if (this.slots.delete(slot)) this.refusals.served()
    }
  }

  wanted(now?: number): number {
    return this.refusals.wanted(now)
  }

  answered(): void {
    this.refusals.answered()
  }
}

/**
 * Expires idle things: `touch(key)` on use; `sweep()` (run every `every` ms while started)
 * hands `expire` each key idle for more than `idleMs`. 0 = never expire.
 */
export class IdleExpiry<K> {
  private readonly lastUse = new Map<K, number>()
  private stopTimer?: () => void

  constructor(
    private readonly idleMs: number,
    private readonly expire: (key: K) => void | Promise<void>,
    // Time execd ran: a stop of execd is no idle time (core/awake-clock.ts).
    private readonly now: () => number = awakeNow,
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
    if (this.idleMs <= 0 || this.stopTimer) return
    // The default idle (30 min) sweeps each 30 s, with commands' and terminals' sweeps.
    this.stopTimer = shareInterval(every, () => void this.sweep())
  }

  stop(): void {
    this.stopTimer?.()
    this.stopTimer = undefined
  }
}

/**
 * Work that outlives its client while it waits for its turn (a cell in a context, a run in a
 * shell): how much of it one holder may have queued or running, and how many characters of code
 * all of it may hold. A client posting behind a busy holder and leaving each time queued without
 * end (40 cells of 15 MiB behind a sleeping one grew execd from 65 to 715 MiB, and on). Each
 * section that queues such work owns one.
 */
export class QueuedWork<K extends object> {
  private readonly counts = new WeakMap<K, number>()
  private chars = 0
  /** Every hold, oldest first (core/held-slots.ts): the holders themselves are not listed. */
  private readonly slots = new Set<Slot>()

  /**
   * @param what     plural noun for messages: 'executions', 'runs'
   * @param perHolder  at most this many queued or running per holder
   * @param maxChars   characters of code of all of them together
   * @param hint     what the client can do, ending the 503's message
   * @param pool     its name among the pools a SIGUSR2 lists: 'session runs'
   */
  constructor(
    readonly what: string,
    readonly perHolder: number,
    readonly maxChars: number,
    readonly hint: string,
    private readonly pool = what,
  ) {}

  /** Who holds it now (core/held-slots.ts), named by its pool. */
  held(): Held {
    return heldOf(this.pool, this.perHolder, this.slots)
  }

  /** A 503 when `holder` (named `name` in it) or all holders together have no room for `code`. */
  check(holder: K, name: string, code: string): void {
    const count = this.counts.get(holder) ?? 0
    if (count >= this.perHolder) {
      throw new ExecdError(
        'SERVICE_UNAVAILABLE',
        `limit reached: ${name} has ${count} ${this.what} queued or running, at most ${this.perHolder}; ${this.hint}`,
        { held: () => this.held() },
      )
    }
    if (this.chars + code.length > this.maxChars) {
      throw new ExecdError(
        'SERVICE_UNAVAILABLE',
        `limit reached: the ${this.what} queued or running hold ${this.chars} characters of code, and ${code.length} more would pass ${this.maxChars}; ${this.hint}`,
        { held: () => this.held() },
      )
    }
  }

  /** Counts `code` as held by `holder` (of `kind`, for reports) until the returned (idempotent) release. */
  hold(holder: K, code: string, kind = ''): () => void {
    const chars = code.length
    this.counts.set(holder, (this.counts.get(holder) ?? 0) + 1)
    this.chars += chars
    const slot: Slot = { kind, at: performance.now() }
    this.slots.add(slot)
    return () => {
      if (!this.slots.delete(slot)) return
      this.counts.set(holder, (this.counts.get(holder) ?? 1) - 1)
      this.chars -= chars
    }
  }
}
