/**
 * Bytes held for answers still being sent, up to a limit: what a body costs (memory for a body
 * given whole, disk for a private copy) is given back when its answer is sent or abandoned
 * (core/answering.ts `whenAnswered`), or at once when its client goes.
 */
import { receivedOf, whenAnswered, type Answer } from './answering'

export class AnswerBudget {
  private heldBytes = 0

  /** `uncounted`: bodies up to this size cost nothing to watch, so are not counted. */
  constructor(
    private readonly limit: number,
    private readonly uncounted = 0,
  ) {}

  /** Bytes held now (for tests). */
  held(): number {
    return this.heldBytes
  }

  /**
   * Counts `bytes` against the budget until `answer` is sent or abandoned (the release is
   * idempotent and may come sooner), or undefined: the budget is spent, or the answer's end
   * cannot be watched. Not an answer on a connection (the CLI's own file operations, an app
   * answering in process): nothing is counted.
   */
  hold(answer: Answer | undefined, bytes: number): (() => void) | undefined {
    if (bytes <= this.uncounted || !answer?.server) return () => {}
    if (this.heldBytes + bytes > this.limit) return undefined
    const signal = receivedOf(answer.request).signal
    let held = true
    const release = () => {
      if (!held) return
      held = false
      this.heldBytes -= bytes
      signal.removeEventListener('abort', release)
    }
    if (!whenAnswered(answer, release)) return undefined
    this.heldBytes += bytes
    // A client that goes away gives the bytes back at once; one that reads, at the next look.
    signal.addEventListener('abort', release)
    return release
  }
}
