/**
 * Bash sessions (CONTRACT §4): each session is one live bash (core/live-bash.ts), so cwd,
 * variables, functions and aliases persist between runs; runs of a session are serialized.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { ExecdError, PREFIX } from '../../core/errors'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import { LineSplitter } from '../../core/lines'
import { LiveBash, type BashRunEnd, type BashStream } from '../../core/live-bash'
import { describeExit } from '../../core/process'
import { ownedTempDir } from '../../core/temp-dir'
import { confineCwd, expandPath, resolveCwd } from '../../core/workdir'

export interface RunRequest {
  command: string
  cwd?: string
  /** ms; 0 or absent: no limit. */
  timeout?: number
}

interface Session {
  id: string
  bash: LiveBash
}

const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)

export class Sessions {
  private readonly sessions = new Map<string, Session>()
  private dir: string | undefined

  /** Starts a bash in `cwd` (expanded, created if missing) → the session id. */
  create(opts: { cwd?: string } = {}): { session_id: string } {
    let cwd: string | undefined
    if (opts.cwd) {
      cwd = confineCwd(expandPath(opts.cwd))
      try {
        mkdirSync(cwd, { recursive: true })
      } catch (err) {
        throw invalid(`cannot create working directory ${cwd}: ${(err as Error).message}`)
      }
    }
    this.dir ??= ownedTempDir('execd-sessions')
    const id = crypto.randomUUID()
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[k] = v
    this.sessions.set(id, { id, bash: new LiveBash({ cwd, env, tmpDir: this.dir }) })
    return { session_id: id }
  }

  /**
   * Validates, then the run's events: init (session id), ping, stdout/stderr lines, and
   * execution_complete or the CommandExecError `error`. Aborting `signal` interrupts the run.
   */
  run(id: string, req: RunRequest, signal?: AbortSignal): AsyncIterable<ExecEvent> {
    const s = this.get(id)
    if (typeof req.command !== 'string' || req.command === '') throw invalid('command is required')
    if (req.timeout !== undefined && (!Number.isFinite(req.timeout) || req.timeout < 0)) {
      throw invalid(`timeout must be a non-negative number of milliseconds, got ${req.timeout}`)
    }
    const cwd = resolveCwd(req.cwd)
    if (!s.bash.alive) {
      throw new ExecdError('CONTEXT_NOT_FOUND', `session ${id} has ended (${s.bash.endReason}); create a new session`)
    }
    return runEvents(s, req, cwd, signal)
  }

  /** Interrupts the session's current run, keeping the session; false if unknown. */
  async interrupt(id: string): Promise<boolean> {
    const s = this.sessions.get(id)
    if (!s) return false
    await s.bash.interrupt()
    return true
  }

  async delete(id: string): Promise<void> {
    const s = this.get(id)
    this.sessions.delete(id)
    await s.bash.close()
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map(s => s.bash.close()))
    this.sessions.clear()
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
  }

  private get(id: string): Session {
    const s = this.sessions.get(id)
    if (!s) throw new ExecdError('CONTEXT_NOT_FOUND', `session ${id} not found`)
    return s
  }
}

async function* runEvents(
  s: Session,
  req: RunRequest,
  cwd: string | undefined,
  outer?: AbortSignal,
): AsyncGenerator<ExecEvent> {
  yield makeEvent('init', { text: s.id })
  yield makeEvent('ping', { text: 'pong' })
  const started = Date.now()
  const abort = new AbortController()
  let timedOut = false
  const timer = req.timeout ? setTimeout(() => ((timedOut = true), abort.abort()), req.timeout) : undefined
  const onOuter = () => abort.abort()
  outer?.addEventListener('abort', onOuter, { once: true })
  const splitters: Record<BashStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() }
  const it = s.bash.run(req.command, { cwd, signal: abort.signal })
  let end: BashRunEnd | undefined
  try {
    for (;;) {
      const r = await it.next()
      if (r.done) {
        end = r.value
        break
      }
      for (const text of splitters[r.value.stream].push(r.value.data)) yield makeEvent(r.value.stream, { text })
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      for (const text of splitters[stream].end()) yield makeEvent(stream, { text })
    }
    yield terminal(s, end, started, timedOut ? req.timeout : undefined)
  } finally {
    clearTimeout(timer)
    outer?.removeEventListener('abort', onOuter)
    if (!end) await it.return(undefined as never)
  }
}

function terminal(s: Session, end: BashRunEnd, started: number, timeout?: number): ExecEvent {
  const why = timeout ? ` (timeout after ${timeout} ms)` : ''
  if (end.kind === 'died') {
    const info = s.bash.exit
    const evalue = info?.code != null ? String(info.code) : '-1'
    const exit = info ? describeExit(info) : end.reason
    return errorEvent('CommandExecError', evalue, [
      `${exit}${why}`,
      'the session has ended: its bash exited; create a new session',
    ])
  }
  if (end.interrupted) return errorEvent('CommandExecError', '-1', [`signal: interrupt${why}`])
  if (end.code === 0) return makeEvent('execution_complete', { execution_time: Date.now() - started })
  return errorEvent('CommandExecError', String(end.code), [`exit status ${end.code}`])
}
