/**
 * The PTY sessions of this daemon: create, look up, delete, and forget the ones nobody uses
 * (the reference keeps every session, its shell and its buffer until DELETE). At most
 * `max` sessions exist at once; a running terminal with no client and no output for
 * `idleMs` is hung up; exited or never-connected ones without a client go after `retainMs`.
 */
import { awakeNow } from '../../core/awake-clock'
import { requirePiece } from '../../core/capabilities'
import { ExecdError } from '../../core/errors'
import { argumentProblem } from '../../core/exec-strings'
import type { Held } from '../../core/held-slots'
import { Capacity, IdleExpiry } from '../../core/limits'
import { workingDir } from '../../core/workdir'
import { hangUp } from './hangup'
import { ProcScanner } from '../../core/proc-scan'
import { SendQueues } from '../../core/send-queues'
import { StdinBudget } from './stdin-budget'
import { DEFAULT_LIMITS, type PtyLimits } from './defaults'
import { PtySession } from './session'
import { PERIODS } from '../../core/periods'
import { shareInterval } from '../../core/shared-interval'

export type { PtyLimits }

/** The reference's prefix of every refused terminal creation. */
const PREFIX_CREATE = 'error creating pty session: '

export interface CreateOptions {
  cwd?: string
  command?: string
}

interface Entry {
  session: PtySession
  release: () => void
}

export class PtyStore {
  private readonly entries = new Map<string, Entry>()
  private readonly scanner = new ProcScanner()
  private readonly stdinBudget = new StdinBudget()
  /** What all terminals' sockets queue for their clients (socket.ts). */
  readonly sendQueues: SendQueues
  private readonly capacity: Capacity
  private readonly idle: IdleExpiry<string>
  private stopTimer: (() => void) | undefined
  readonly limits: PtyLimits

  constructor(limits: Partial<PtyLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits }
    this.sendQueues = new SendQueues(this.limits.queuedMax || Number.POSITIVE_INFINITY)
    this.capacity = new Capacity('terminals', this.limits.max, 'max-ptys', () => this.entries.size)
    this.idle = new IdleExpiry(this.limits.idleMs, id => this.expire(id))
  }

  get size(): number {
    return this.entries.size
  }

  /** Who holds its terminals' slots (core/held-slots.ts). */
  held(): Held {
    return this.capacity.held()
  }

  /** Creates a session; nothing runs until a client attaches. 503 when `max` exist. */
  create(opts: CreateOptions = {}): PtySession {
    let cwd: string | undefined
    try {
      cwd = workingDir('terminal', opts.cwd, process.env, this.limits.root)
    } catch (err) {
      if (!(err instanceof ExecdError)) throw err
      throw new ExecdError(err.code, `${PREFIX_CREATE}${err.message}`)
    }
    // A command no spawn takes is refused here, not when the WebSocket connects (START_FAILED then).
    const problem = opts.command === undefined ? undefined : argumentProblem('command', opts.command)
    if (problem) throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX_CREATE}${problem}`)
    requirePiece('bash', 'cannot start a terminal') // at create, not when the WebSocket connects
    const release = this.acquire()
    const command = opts.command?.trim() ? opts.command : undefined
    const session = new PtySession(crypto.randomUUID(), cwd, command, this.scanner, this.stdinBudget)
    session.onActivity = () => this.idle.touch(session.id)
    this.entries.set(session.id, { session, release })
    return session
  }

  /** The session, or CONTEXT_NOT_FOUND as the reference answers. */
  get(id: string): PtySession {
    const entry = this.entries.get(id)
    if (!entry) throw new ExecdError('CONTEXT_NOT_FOUND', `pty session ${id} not found`)
    return entry.session
  }

  /** Kills the session's processes and forgets it. */
  async delete(id: string): Promise<void> {
    const session = this.get(id)
    this.forget(id)
    await session.kill()
  }

  /**
   * Forgets sessions that have had no client for `retainMs` and run nothing: exited ones, and
   * ones created but never connected (abandoned).
   */
  sweep(now = awakeNow()): number {
    let removed = 0
    for (const [id, { session }] of this.entries) {
      if (session.running || session.attached) continue
      if (now - session.lastActive < this.limits.retainMs) continue
      this.forget(id)
      session.ring.release()
      removed++
    }
    return removed
  }

  startSweeper(everyMs = PERIODS.sweep): void {
    this.stopTimer ??= shareInterval(everyMs, () => void this.sweep())
    this.idle.start()
  }

  /** Hangs up every session at once: one shared scan of /proc, not one per terminal. */
  async closeAll(): Promise<void> {
    this.stopTimer?.()
    this.stopTimer = undefined
    this.idle.stop()
    const all = [...this.entries.values()].map(e => e.session)
    for (const id of [...this.entries.keys()]) this.forget(id)
    await hangUp(all, this.scanner)
    for (const session of all) session.ring.release()
  }

  /**
   * A slot for a new session. When full, the sessions the sweep would forget go first (no client
   * and nothing running past `retainMs`: one never connected to is abandoned by then), then an
   * exited session's replay gives way. Those waited for the next sweep (every 30 s): with
   * `--pty-retain 1000` a terminal made and never connected held its slot 1–31 s, and every
   * create meanwhile was the 503. One within `retainMs` is kept: its client may be about to attach.
   */
  private acquire(): () => void {
    try {
      return this.capacity.acquire()
    } catch (e) {
      if (this.sweep() > 0) return this.capacity.acquire()
      const exited = [...this.entries.values()]
        .filter(({ session }) => session.exitCode !== null && !session.attached)
        .sort((a, b) => a.session.lastActive - b.session.lastActive)[0]
      if (!exited) throw e
      this.forget(exited.session.id)
      exited.session.ring.release()
      return this.capacity.acquire()
    }
  }

  /** A connected client keeps its terminal, however quiet; an abandoned running one is hung up. */
  private async expire(id: string): Promise<void> {
    const entry = this.entries.get(id)
    if (!entry) return
    if (entry.session.attached) return this.idle.touch(id)
    if (!entry.session.running) return // retained for replay until the sweep
    await this.delete(id)
  }

  private forget(id: string): void {
    this.entries.get(id)?.release()
    this.entries.delete(id)
    this.idle.forget(id)
  }
}
