/**
 * The PTY section's plain operations over its `PtyStore`: create, status, delete, and the
 * session a WebSocket attaches to (the framing is socket.ts's).
 */
import type { PtySession } from './session'
import { PtyStore, type CreateOptions, type PtyLimits } from './store'

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

  delete(id: string): Promise<void> {
    return this.store.delete(id)
  }

  close(): Promise<void> {
    return this.store.closeAll()
  }
}
