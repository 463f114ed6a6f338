/**
 * Bytes held for answers still being sent, up to a limit: what a body costs (memory for a body
 * given whole, disk for a private copy) is given back when its answer is sent or abandoned.
 * Bun says nothing when an answer is done, so the answers holding a budget are looked at
 * every SWEEP_MS (core/answering.ts: `requestIP` turns null once the answer is written).
 */
import { answerProbe, receivedOf, type Answer } from './answering'

/** How often the answers holding a budget are looked at: a finished one gives its bytes back. */
const SWEEP_MS = 100

interface Hold {
  bytes: number
  answering: () => boolean
  release: () => void
}

const budgets = new Set<AnswerBudget>()
let sweeper: ReturnType<typeof setInterval> | undefined

function sweep(): void {
  let holding = false
  for (const budget of budgets) holding = budget.sweep() || holding
  if (!holding && sweeper) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}

export class AnswerBudget {
  private heldBytes = 0
  private readonly holds = new Set<Hold>()

  /** `uncounted`: bodies up to this size cost nothing to watch, so are not counted. */
  constructor(
    private readonly limit: number,
    private readonly uncounted = 0,
  ) {
    budgets.add(this)
  }

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
    const answering = answerProbe(answer)
    if (!answering) return undefined
    const signal = receivedOf(answer.request).signal
    const hold: Hold = {
      bytes,
      answering,
      release: () => {
        if (!this.holds.delete(hold)) return
        this.heldBytes -= bytes
        signal.removeEventListener('abort', hold.release)
      },
    }
    this.holds.add(hold)
    this.heldBytes += bytes
    // A client that goes away gives the bytes back at once; one that reads, at the next sweep.
    signal.addEventListener('abort', hold.release)
    sweeper ??= setInterval(sweep, SWEEP_MS)
    sweeper.unref?.()
    return hold.release
  }

  /** Gives back the bytes of answers that are over; whether any are still held. */
  sweep(): boolean {
    for (const hold of this.holds) if (!hold.answering()) hold.release()
    return this.holds.size > 0
  }
}
