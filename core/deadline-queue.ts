/**
 * Deadlines of one duration on one timer. Every JSON body's read set a timer on the awake clock
 * and cleared it (core/body.ts: the 408), made and unmade in well under its duration nearly
 * always: a closure to look at the awake clock again, a LongTimer, a Timeout in Bun's timer heap.
 * Deadlines of one duration, taken as they come, fall due in the order they were taken: a queue
 * in that order needs no heap, and one timer for its oldest deadline serves them all (armed
 * again only when it fires). Counted by callgrind (10,000 in a loop): withinAwake 6.5k
 * instructions a body, withinQueued 5.4k. A bare setTimeout/clearTimeout pair is cheaper than
 * the queue's add/cancel (0.9k against 1.8k): a plain timer (the reply's hold) stays one.
 */
import { awakeNow, withinAwake } from './awake-clock'
import { type Linked, LinkedList } from './linked-list'
import { MAX_TIMER_MS } from './timers'

/** One deadline of a queue: `fire` until it fires or is cancelled. */
export interface Deadline {
  readonly at: number
  fire: (() => void) | undefined
}

/** A deadline in its queue: a linked list, so a cancel unlinks it at once. */
interface Node extends Deadline, Linked<Node> {}

/** The timer a queue arms (setTimeout's, or a test's). */
export interface QueueTimers {
  set(fn: () => void, ms: number): unknown
}

const REAL_TIMERS: QueueTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms)
    // Nothing waits on the queue's timer itself: whoever holds a deadline keeps its process.
    t.unref?.()
    return t
  },
}

export class DeadlineQueue {
  /** Deadlines neither fired nor cancelled, in the order they fall due. */
  private readonly list = new LinkedList<Node>()
  private armed = false

  /** `ms` is every deadline's duration, on `now`'s clock (ms, never going back). */
  constructor(
    readonly ms: number,
    private readonly now: () => number,
    private readonly timers: QueueTimers = REAL_TIMERS,
  ) {
    if (!(ms >= 0 && ms <= MAX_TIMER_MS))
      throw new RangeError(`a deadline queue's duration must be 0..${MAX_TIMER_MS} ms`)
  }

  /** Deadlines neither fired nor cancelled (all the queue holds: a cancelled one is unlinked). */
  get size(): number {
    return this.list.size
  }

  /** `fire` once `ms` have passed, unless cancelled before. */
  add(fire: () => void): Deadline {
    const node: Node = { at: this.now() + this.ms, fire, prev: undefined, next: undefined }
    this.list.push(node)
    if (!this.armed) this.arm(this.ms)
    return node
  }

  cancel(d: Deadline): void {
    if (d.fire === undefined) return
    d.fire = undefined
    this.list.remove(d as Node)
  }

  private arm(ms: number): void {
    this.armed = true
    this.timers.set(this.due, Math.ceil(ms))
  }

  private readonly due = (): void => {
    this.armed = false
    const now = this.now()
    for (let node = this.list.first; node && node.at <= now; node = this.list.first) {
      const fire = node.fire!
      node.fire = undefined
      this.list.remove(node)
      fire()
    }
    // Not armed again for a queue that emptied (the next add arms it), nor twice (a deadline
    // fired may have added one and armed it).
    const next = this.list.first
    if (next && !this.armed) this.arm(Math.max(1, next.at - now))
  }
}

/**
 * One queue per duration, on execd's awake clock (a stop of execd is no client's slowness):
 * a daemon has few durations (--body-timeout).
 */
const MAX_QUEUES = 16
const queues = new Map<number, DeadlineQueue>()

/** The shared queue of deadlines of `ms`; undefined past setTimeout's range or past more durations than a daemon has. */
export function queueFor(ms: number): DeadlineQueue | undefined {
  const queue = queues.get(ms)
  if (queue) return queue
  if (!(ms >= 0 && ms <= MAX_TIMER_MS) || queues.size >= MAX_QUEUES) return undefined
  const made = new DeadlineQueue(ms, awakeNow)
  queues.set(ms, made)
  return made
}

/**
 * `promise`, or 'timeout' after `ms` on the awake clock, as core/awake-clock.ts's `withinAwake`,
 * with its deadline on a shared queue when it can be.
 */
export function withinQueued<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const queue = queueFor(ms)
  if (!queue) return withinAwake(promise, ms)
  return new Promise<T | 'timeout'>((resolve, reject) => {
    const d = queue.add(() => resolve('timeout'))
    promise.then(
      value => {
        queue.cancel(d)
        resolve(value)
      },
      err => {
        queue.cancel(d)
        reject(err)
      },
    )
  })
}
