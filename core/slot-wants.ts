/**
 * Whether anyone wants what a stalled answer holds (core/send-stall.ts). The stall rule cannot
 * tell a client that reads slowly from one that reads nothing: the reader's kernel reopens a
 * shut window only once a good part of its buffer is read, and till then both answer the
 * sender's probes with a shut window, so for minutes neither acknowledges a byte (a download
 * read at 1 KiB/s was reset 153 s in under the 120 s rule, stop 51). So a stalled answer is
 * ended when a request wants its slot, not for being slow: a pool counts the requests it
 * refused lately or keeps waiting, and each such request may end one holder stalled past the
 * rule's period, the longest stalled first.
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
 * The refusals of a pool that refuses at once (no line): each wants a slot until a stalled
 * holder is ended for it, a slot is taken (whoever takes it, the refused can have the next), or a
 * stall period passes without another (its client went away, or got one).
 */
export class Refusals implements Wanted {
  private count = 0
  private last = -Infinity

  /** `ms`: how long a refusal is remembered (the stall rule's period, by default). */
  constructor(private readonly ms = PERIODS.stall) {}

  refused(now = performance.now()): void {
    this.count++
    this.last = now
  }

  /** A slot was taken. */
  served(): void {
    this.count = 0
  }

  wanted(now = performance.now()): number {
    if (now - this.last > this.ms) this.count = 0
    return this.count
  }

  answered(): void {
    this.count = Math.max(0, this.count - 1)
  }
}

/** Nobody waits for what it holds: only the stall rule's ceiling ends it. */
export const UNWANTED: Wanted = { wanted: () => 0, answered: () => {} }
