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
 * One budget for all the readers that share it: a budget each let 256 event streams opened
 * at once frame 256 KiB apiece in one turn of the loop (64 MiB), and /ping waited 0.2–2.3 s.
 * Readers count bytes as they frame them and ask `spent` before framing more; once the budget
 * is used up, all of them wait for the same next turn, where it starts again.
 */
class SharedTurns {
  private used = 0
  private turn: Promise<void> | undefined

  constructor(private readonly bytesPerTurn = BYTES_PER_TURN) {}

  /** Counts `bytes` framed in this turn of the loop. */
  count(bytes: number): void {
    this.used += bytes
  }

  /** Whether this turn's budget is used up: whoever asks frames no more before `next()`. */
  get spent(): boolean {
    return this.used >= this.bytesPerTurn
  }

  /** Undefined while the budget lasts; else the next turn, the same promise for every reader. */
  next(): Promise<void> | undefined {
    if (!this.spent) return undefined
    return (this.turn ??= nextTurn().then(() => {
      this.used = 0
      this.turn = undefined
    }))
  }

  /**
   * Undefined while the budget lasts; else the first turn where it does (writers woken by one
   * turn may spend it before this one's turn comes): a stream that opens frames nothing before.
   */
  free(): Promise<void> | undefined {
    return this.spent ? this.freeTurn() : undefined
  }

  private async freeTurn(): Promise<void> {
    while (this.spent) await this.next()
  }
}

/**
 * What a keepalive counts against the shared budget: its socket write, not its 70 bytes. 1,000
 * idle streams opened together had their keepalives due together, and one turn wrote them all;
 * at this cost a turn writes 64.
 */
export const KEEPALIVE_COST = 4 * 1024

/** The budget every SSE writer of the process frames through (core/sse-writer.ts). */
export const sseTurns = new SharedTurns()

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

/**
 * Bytes of a chunk of unread output handed on at once: at most 4096 lines, each an event framed into the journal.
 * A 64 KiB chunk of `yes` is 32,768 events, 4–240 ms of the loop at load 10 (stop 46), and the
 * pacer only heard of it after; one piece is an eighth of that, and the pacer is asked between.
 * A followed stream is paced by its reader and takes its chunks whole (no more writes per MiB).
 */
export const PIECE_BYTES = 8 * 1024

/**
 * The end of the piece starting at `from`, after a newline: a line is never cut where the pipe
 * did not cut it. With no newline in PIECE_BYTES the lines are long and few: on to the next one.
 */
export function pieceEnd(chunk: Uint8Array, from: number): number {
  if (chunk.length - from <= PIECE_BYTES) return chunk.length
  const last = chunk.lastIndexOf(10, from + PIECE_BYTES - 1)
  if (last >= from) return last + 1
  const next = chunk.indexOf(10, from + PIECE_BYTES)
  return next < 0 ? chunk.length : next + 1
}
