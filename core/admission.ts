/**
 * A capped pool with a short, bounded line in front of it: work past the cap waits its turn, in
 * the order it came, for a bounded time, and a line already full refuses at once. For work that
 * shares the one event loop by turns (the walks of searches and listings): without a cap, 60
 * searches of a 200,000-entry directory at once each walked a sixtieth of the time and all 60
 * ran out of their 30 s budget together (503 after 30 s, none finished). A bare cap refused a
 * burst of small listings that a moment's wait would have served; the line serves them.
 */
import { setAwakeTimeout } from './awake-clock'
import { ExecdError } from './errors'
import type { Capacity } from './limits'
import type { Wanted } from './slot-wants'
import type { LongTimer } from './timers'

interface Waiter {
  admit(): void
}

export class Admission implements Wanted {
  /** Waiting, first come first: a Set keeps its order and lets a leaver out at once. */
  private readonly line = new Set<Waiter>()

  /**
   * @param pool    the cap (its `what`, `max` and `flag` name it in a refusal)
   * @param waiting at most this many wait; more are refused at once
   * @param waitMs  the longest one waits (on the awake clock) before its refusal
   */
  constructor(
    readonly pool: Capacity,
    readonly waiting: number,
    readonly waitMs: number,
  ) {}

  get queued(): number {
    return this.line.size
  }

  /** The requests waiting in line: each may end a holder the stall rule sees stalled. */
  wanted(): number {
    return this.line.size
  }

  /** A waiter takes the slot once the ended holder's answer gives it back. */
  answered(): void {}

  /**
   * A slot of the pool for `kind`, now or after a wait; its release (idempotent) hands it to the
   * first in line. 503 naming the limit when the line is full or the wait runs out; a client that
   * leaves while waiting is out of the line at once.
   */
  enter(kind: string, signal?: AbortSignal): Promise<() => void> {
    if (!this.pool.full && this.line.size === 0) return Promise.resolve(this.take(kind))
    if (signal?.aborted) return Promise.reject(gone(this.pool))
    if (this.line.size >= this.waiting) {
      return Promise.reject(this.refusal(`${this.line.size} more waiting already`))
    }
    return new Promise((resolve, reject) => {
      let timer: LongTimer | undefined
      const leave = () => {
        this.line.delete(waiter)
        timer?.clear()
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = () => (leave(), reject(gone(this.pool)))
      const waiter: Waiter = { admit: () => (leave(), resolve(this.take(kind))) }
      this.line.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      timer = setAwakeTimeout(() => (leave(), reject(this.refusal(`none came free in ${this.waitMs} ms`))), this.waitMs)
    })
  }

  private take(kind: string): () => void {
    const release = this.pool.acquire(kind)
    let released = false
    return () => {
      if (released) return
      released = true
      release()
      this.next()
    }
  }

  /** Admits the first in line while the pool has room. */
  private next(): void {
    for (const waiter of this.line) {
      if (this.pool.full) return
      waiter.admit()
    }
  }

  private refusal(why: string): ExecdError {
    const { what, max, flag } = this.pool
    return new ExecdError(
      'SERVICE_UNAVAILABLE',
      `limit reached: at most ${max} ${what} (--${flag}), ${why}; try again when one ends or raise the limit`,
      { held: () => this.pool.held() },
    )
  }
}

const gone = (pool: Capacity) =>
  new ExecdError('RUNTIME_ERROR', `the client went away while waiting for one of the ${pool.what}`)
