/**
 * Fairness on the one event loop. A read whose data is already buffered (a pipe `yes` keeps
 * full, a stream whose source is always ready) resolves as a microtask, and a loop of such
 * reads never gives the event loop a turn: while a background `yes` ran, every other request
 * — `/ping` included — waited until it ended. A reader spends its bytes through a `TurnBudget`
 * and gives the loop a turn each time the budget is used up.
 */
import { nextTurn, sleep } from './timers'

/** Bytes a reader may take before it lets the event loop turn once. */
const BYTES_PER_TURN = 256 * 1024

export class TurnBudget {
  private spent = 0

  constructor(private readonly bytesPerTurn = BYTES_PER_TURN) {}

  /** Counts `bytes`; a promise of the next turn when the budget is used up, else undefined. */
  spend(bytes: number): Promise<void> | undefined {
    this.spent += bytes
    if (this.spent < this.bytesPerTurn) return undefined
    this.spent = 0
    return nextTurn()
  }
}

/**
 * The share of the event loop that output nobody reads may take: a background command's, or a
 * foreground one's whose client left. A reader paces its producer (backpressure); without one,
 * a producer read as fast as its process wrote, and ten abandoned `yes` held the loop
 * (/ping 3–6 s, execd's CPU at its limit) for as long as they ran. Their work together is held
 * to `share` of the loop: once `sliceMs` of it is done, all of them wait out the pause that
 * restores the share. They slow down (their pipes fill, the processes wait), they do not stop.
 */
export class UnreadPacer {
  private worked = 0
  private resumed: Promise<void> | undefined

  constructor(
    private readonly sliceMs = 10,
    private readonly share = 0.5,
  ) {}

  /**
   * Undefined while the share lasts; else the pause to wait out, after which ask again: the
   * producers woken together must not all take a chunk on the strength of one check.
   */
  ready(): Promise<void> | undefined {
    if (this.resumed || this.worked < this.sliceMs) return this.resumed
    const pause = this.worked * (1 / this.share - 1)
    this.worked = 0
    return (this.resumed = sleep(pause).then(() => {
      this.resumed = undefined
    }))
  }

  /** Counts `ms` of work done on unread output. */
  spend(ms: number): void {
    this.worked += ms
  }
}
