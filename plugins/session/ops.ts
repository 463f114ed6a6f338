/**
 * Bash sessions (CONTRACT §4): each session is one live bash (core/live-bash/), so cwd,
 * variables, functions and aliases persist between runs; runs of a session are serialized.
 */
import { childEnv } from '../../core/child-env'
import { ExecdError, PREFIX } from '../../core/errors'
import type { Held } from '../../core/held-slots'
import { interruptShell } from '../../core/interrupts'
import { Capacity, IdleExpiry } from '../../core/limits'
import { LiveBash } from '../../core/live-bash'
import { bashRunEvents, runsBound } from '../../core/live-bash/events'
import type { SseItem } from '../../core/sse'
import { OwnedTempDir } from '../../core/temp-dir'
import { memoryFifoDir } from '../../core/live-bash/fifo-dir'
import { heldByShell } from '../../core/live-bash/code-file'
import { workingDir } from '../../core/workdir'

export interface RunRequest {
  command: string
  cwd?: string
  /** ms; 0 or absent: no limit. */
  timeout?: number
}

interface Session {
  id: string
  bash: LiveBash
  /** Runs started and not yet ended (queued ones included): a busy session is never idle. */
  runs: number
  /** Gives back the session's slot under --max-sessions. */
  release: () => void
}

interface SessionLimits {
  /** Sessions at once (0: no limit). */
  max: number
  /** ms without a run before a session is ended (0: never). */
  idleMs: number
  /** This daemon's --root as its real path (core/workdir.ts workRoot), which working directories stay within. */
  root?: string
}

/** Ended sessions kept for their "has ended" answer when --max-sessions is 0 (no limit). */
const ENDED_KEPT_UNLIMITED = 64

const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)

export class SessionOps {
  private readonly sessions = new Map<string, Session>()
  /**
   * Ids of sessions whose shell exited, oldest first. Such a session gives its slot back but was
   * kept until DELETE or --session-idle: created and ended in a loop (`exit`), 300 of them grew
   * execd by ~8 MiB past a limit of 64. Past as many as --max-sessions, the oldest is let go.
   */
  private readonly ended = new Set<string>()
  private readonly endedKept: number
  private readonly dir = new OwnedTempDir('execd-sessions')
  /** The shells' input FIFOs, one made and removed each run: on /dev/shm where it can be had. */
  private readonly fifos = memoryFifoDir('execd-session-fifos')
  private readonly capacity: Capacity
  private readonly idle: IdleExpiry<string>
  /** What the sessions' runs hold, queued or running (core/limits.ts QueuedWork). */
  private readonly budget = runsBound('session runs')

  constructor(private readonly limits: SessionLimits = { max: 0, idleMs: 0 }) {
    this.capacity = new Capacity('sessions', limits.max, 'max-sessions', () => this.sessions.size - this.ended.size)
    this.endedKept = limits.max || ENDED_KEPT_UNLIMITED
    this.idle = new IdleExpiry(limits.idleMs, id => this.expire(id))
    this.idle.start()
  }

  /** Starts a bash in `cwd` (expanded, created if missing) → the session id. */
  create(opts: { cwd?: string } = {}): { session_id: string } {
    const cwd = workingDir('session', opts.cwd, process.env, this.limits.root)
    const release = this.capacity.acquire()
    const id = crypto.randomUUID()
    // Only names bash can export.
    const env = Object.fromEntries(Object.entries(childEnv()).filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)))
    let bash: LiveBash
    try {
      this.dir.ensure()
      // Held open, reached by the shell through execd's descriptor: its code and FIFOs by no name.
      bash = new LiveBash({ cwd, env, tmpDir: heldByShell(this.dir), fifoDir: this.fifos && heldByShell(this.fifos) })
    } catch (err) {
      release()
      throw err
    }
    // A shell that exited (`exit`) gives its slot back; the id answers "has ended" until deleted,
    // or until more sessions ended after it than --max-sessions.
    void bash.exited.then(() => {
      release()
      this.keepEnded(id)
    })
    this.sessions.set(id, { id, bash, runs: 0, release })
    this.idle.touch(id)
    return { session_id: id }
  }

  get count(): number {
    return this.capacity.count
  }

  /** Who holds this instance's pools (core/held-slots.ts). */
  held(): Held[] {
    return [this.capacity.held(), this.budget.held()]
  }

  /**
   * Validates, then the run's events: init (session id), ping, stdout/stderr lines, and
   * execution_complete or the CommandExecError `error`. Aborting `signal` interrupts the run.
   */
  run(id: string, req: RunRequest, signal?: AbortSignal): AsyncIterable<SseItem> {
    const s = this.get(id)
    if (typeof req.command !== 'string' || req.command === '') throw invalid('command is required')
    if (req.timeout !== undefined && (!Number.isFinite(req.timeout) || req.timeout < 0)) {
      throw invalid(`timeout must be a non-negative number of milliseconds, got ${req.timeout}`)
    }
    const cwd = workingDir('session run', req.cwd, process.env, this.limits.root)
    if (!s.bash.alive) {
      throw new ExecdError('CONTEXT_NOT_FOUND', `session ${id} has ended (${s.bash.endReason}); create a new session`)
    }
    return bashRunEvents(s.bash, req.command, {
      budget: this.budget,
      id: s.id,
      cwd,
      timeoutMs: req.timeout,
      signal,
      ended: 'the session has ended: its bash exited; create a new session',
      // Held out of idle expiry while the run's stream lasts.
      onStart: () => {
        s.runs++
        this.idle.forget(s.id)
      },
      onEnd: () => {
        if (--s.runs === 0 && this.sessions.has(s.id)) this.idle.touch(s.id)
      },
    })
  }

  private keepEnded(id: string): void {
    if (!this.sessions.has(id)) return
    this.ended.add(id)
    for (const oldest of this.ended) {
      if (this.ended.size <= this.endedKept) return
      // Its shell has exited; the close ends what it left running, as a DELETE does.
      const s = this.sessions.get(oldest)
      this.forget(oldest)
      void s?.bash.close()
    }
  }

  /** Drops a session from every list; what it ran is already gone or closed by the caller. */
  private forget(id: string): void {
    this.sessions.delete(id)
    this.ended.delete(id)
    this.idle.forget(id)
  }

  /** Ends a session nobody used for --session-idle ms; its id then answers 404. */
  private async expire(id: string): Promise<void> {
    const s = this.sessions.get(id)
    if (!s) return
    if (s.runs > 0) return // busy: touched again when its run ends
    this.forget(id)
    s.release()
    await s.bash.close()
  }

  /** Interrupts the session's current run, keeping the session; false if unknown. */
  interrupt(id: string): Promise<boolean> {
    return interruptShell(this.sessions.get(id))
  }

  async delete(id: string): Promise<void> {
    const s = this.get(id)
    this.forget(id)
    s.release()
    await s.bash.close()
  }

  async close(): Promise<void> {
    this.idle.stop()
    await Promise.all([...this.sessions.values()].map(s => s.bash.close()))
    this.sessions.clear()
    this.ended.clear()
    this.dir.close()
    this.fifos?.close()
  }

  private get(id: string): Session {
    const s = this.sessions.get(id)
    if (!s) throw new ExecdError('CONTEXT_NOT_FOUND', `session ${id} not found`)
    return s
  }
}
