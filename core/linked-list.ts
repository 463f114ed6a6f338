/**
 * A list linked through its entries, oldest first: an entry leaves at once, with no search and
 * no rehash. Each of its users makes and unmakes an entry per request (the body deadlines of
 * core/deadline-queue.ts, the requests held for --max-requests in core/requests-in-flight.ts),
 * where a Set filled by a burst was rehashed as it grew and shrank (bench/slot-cost.ts).
 */
export interface Linked<N> {
  prev: N | undefined
  next: N | undefined
}

export class LinkedList<N extends Linked<N>> {
  private head: N | undefined
  private tail: N | undefined
  private count = 0

  get first(): N | undefined {
    return this.head
  }

  get size(): number {
    return this.count
  }

  push(node: N): void {
    node.prev = this.tail
    node.next = undefined
    if (this.tail) this.tail.next = node
    else this.head = node
    this.tail = node
    this.count++
  }

  /** Takes out `node`, which must be in this list (each user removes an entry once). */
  remove(node: N): void {
    if (node.prev) node.prev.next = node.next
    else this.head = node.next
    if (node.next) node.next.prev = node.prev
    else this.tail = node.prev
    node.prev = node.next = undefined
    this.count--
  }
}
