/**
 * Fairness on the one event loop. A read whose data is already buffered (a pipe `yes` keeps
 * full, a stream whose source is always ready) resolves as a microtask, and a loop of such
 * reads never gives the event loop a turn: while a background `yes` ran, every other request
 * — `/ping` included — waited until it ended. A reader spends its bytes through a `TurnBudget`
 * and gives the loop a turn each time the budget is used up.
 */
import { nextTurn } from './timers'

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
