/**
 * What a group of WebSockets may queue together for peers that do not read. Bun queues up to
 * its backpressureLimit (16 MiB) per socket before a send is dropped, and nothing caps how many
 * sockets there are: 20 such peers held +335 MiB of execd (proxied WebSockets), 10 terminals
 * +185 MiB. A queue is counted when its owner sends (and on drain), so the total is checked
 * where it grows; a socket found over it is cut off by its owner.
 */

/** One socket's queue, as its owner measures it (Bun's getBufferedAmount(), and any of its own). */
export interface SendQueue {
  /** Its bytes as last counted in the total. */
  counted: number
  measure(): number
}

export class SendQueues {
  private readonly queues = new Set<SendQueue>()
  private total = 0

  constructor(readonly max: number) {}

  add(queue: SendQueue): void {
    this.queues.add(queue)
  }

  forget(queue: SendQueue): void {
    if (this.queues.delete(queue)) this.total -= queue.counted
  }

  /** Counts `queue` again; false when all queues together are over `max`. */
  within(queue: SendQueue): boolean {
    if (!this.queues.has(queue)) return true // forgotten: a late send counts for nothing
    const now = queue.measure()
    this.total += now - queue.counted
    queue.counted = now
    if (this.total <= this.max) return true
    // Another queue's figure may be old, and queues only shrink unwatched: count all before refusing.
    this.total = 0
    for (const q of this.queues) this.total += q.counted = q.measure()
    return this.total <= this.max
  }
}
