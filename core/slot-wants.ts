/**
 * Whether anyone wants what a stalled answer holds (core/send-stall.ts). The stall rule cannot
 * tell a client that reads slowly from one that reads nothing: the reader's kernel reopens a
 * shut window only once a good part of its buffer is read, and till then both answer the
 * sender's probes with a shut window, so for minutes neither acknowledges a byte (a download
 * read at 1 KiB/s was reset 153 s in under the 120 s rule, stop 51). So a stalled answer is
 * ended when a request wants its slot, not for being slow: a pool counts the requests it
 * keeps waiting (each may end one holder stalled past the rule's period, the longest stalled
 * first) or says it refused one lately (one holder a look).
 */
import { PERIODS } from './periods'

/** A pool's side of it: how many requests want a slot now, and one of them answered by a cut. */
export interface Wanted {
  /** Requests refused lately (within a stall period) or waiting now, not yet answered by a cut. */
  wanted(now?: number): number
  /** A stalled holder was ended for one of them. */
  answered(): void
}

/**
 * The refusals of a pool that refuses at once (no line): they want a slot until a stalled
 * holder is ended for them, a slot is taken or given back (whoever takes it, the refused can
 * have the next), or a stall period passes without another (the client went away, or got one).
 * Many refusals want one slot a look: a client that retries faster than the rule looks cannot be
 * told from many clients, and counted one a refusal it ended a slow reader beside the unread
 * holder (the spec's client retrying every 250 ms, looks every 500 ms).
 */
export class Refusals implements Wanted {
  private last = -Infinity

  /** `ms`: how long a refusal is remembered (the stall rule's period, by default). */
  constructor(private readonly ms = PERIODS.stall) {}

  refused(now = performance.now()): void {
    this.last = now
  }

  /** A slot was taken or given back. */
  served(): void {
    this.last = -Infinity
  }

  wanted(now = performance.now()): number {
    return now - this.last <= this.ms ? 1 : 0
  }

  answered(): void {
    this.last = -Infinity
  }
}
