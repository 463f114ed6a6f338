/**
 * The PTY section's plain operations over its `PtyStore`: create, status, delete, and the
 * session a WebSocket attaches to (the framing is socket.ts's).
 */
import { requirePiece } from '../../core/capabilities'
import { requireFds } from '../../core/errors'
import type { Held } from '../../core/held-slots'
import type { PtySession } from './session'
import { PtyStore, type CreateOptions, type PtyLimits } from './store'

/** Descriptors a terminal's start opens at once (Bun: the pty pair and its dup, or three pipes, plus the spawn's own). */
const START_FDS = 4

export class PtyOps {
  readonly store: PtyStore

  constructor(limits: Partial<PtyLimits> = {}) {
    this.store = new PtyStore(limits)
    this.store.startSweeper()
  }

  create(opts: CreateOptions): { session_id: string } {
    return { session_id: this.store.create(opts).id }
  }

  status(id: string): { session_id: string; running: boolean; output_offset: number } {
    const s = this.store.get(id)
    return { session_id: s.id, running: s.running, output_offset: s.ring.total }
  }

  /** The session a client attaches to; 404 if unknown. */
  session(id: string): PtySession {
    return this.store.get(id)
  }

  /**
   * Refuses a start that could not be refused once under way: it follows the WebSocket upgrade,
   * where no status can say why. No devpts for a terminal is a 501; no descriptors for its pair
   * or pipes and the spawn's own, the 503 naming the limit that a command's start answers.
   */
  checkStart(session: PtySession, pty: boolean): void {
    if (session.started) return
    if (pty) requirePiece('devpts', 'cannot open a pseudo-terminal')
    requireFds(START_FDS)
  }

  delete(id: string): Promise<void> {
    return this.store.delete(id)
  }

  /** Who holds this instance's pools (core/held-slots.ts). */
  held(): Held[] {
    return [this.store.held()]
  }

  close(): Promise<void> {
    return this.store.closeAll()
  }
}
