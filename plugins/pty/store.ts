/**
 * The PTY sessions of this daemon: create, look up, delete, and forget exited ones nobody
 * watches (the reference keeps every session and its buffer until DELETE).
 */
import { statSync } from 'node:fs'
import { ExecdError } from '../../core/errors'
import { confineCwd } from '../../core/workdir'
import { PtySession } from './session'

export const PREFIX_CREATE = 'error creating pty session: '

export interface CreateOptions {
  cwd?: string
  command?: string
}

export class PtyStore {
  private readonly sessions = new Map<string, PtySession>()
  private timer: ReturnType<typeof setInterval> | undefined

  /** `retainMs`: how long an exited session without a client keeps its output for replay. */
  constructor(public retainMs = 10 * 60_000) {}

  get size(): number {
    return this.sessions.size
  }

  /** Creates a session; nothing runs until a client attaches. */
  create(opts: CreateOptions = {}): PtySession {
    let cwd: string | undefined
    if (opts.cwd) {
      cwd = confineCwd(opts.cwd)
      let isDir = false
      try {
        isDir = statSync(cwd).isDirectory()
      } catch (e) {
        throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX_CREATE}cwd ${cwd}: ${(e as Error).message}`)
      }
      if (!isDir) throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX_CREATE}cwd ${cwd} is not a directory`)
    }
    const command = opts.command?.trim() ? opts.command : undefined
    const session = new PtySession(crypto.randomUUID(), cwd, command)
    this.sessions.set(session.id, session)
    return session
  }

  /** The session, or CONTEXT_NOT_FOUND as the reference answers. */
  get(id: string): PtySession {
    const session = this.sessions.get(id)
    if (!session) throw new ExecdError('CONTEXT_NOT_FOUND', `pty session ${id} not found`)
    return session
  }

  /** Kills the session's processes and forgets it. */
  async delete(id: string): Promise<void> {
    const session = this.get(id)
    this.sessions.delete(id)
    await session.kill()
  }

  /**
   * Forgets sessions that have had no client for `retainMs` and run nothing: exited ones, and
   * ones created but never connected (abandoned).
   */
  sweep(now = Date.now()): number {
    let removed = 0
    for (const [id, session] of this.sessions) {
      if (session.running || session.attached) continue
      if (now - session.lastActive < this.retainMs) continue
      this.sessions.delete(id)
      session.ring.release()
      removed++
    }
    return removed
  }

  startSweeper(everyMs = 30_000): void {
    this.timer ??= setInterval(() => this.sweep(), everyMs)
    this.timer.unref?.()
  }

  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    const all = [...this.sessions.values()]
    this.sessions.clear()
    await Promise.allSettled(all.map(s => s.kill()))
  }
}
