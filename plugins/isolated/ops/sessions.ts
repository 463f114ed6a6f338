/**
 * Isolated sessions: each is one live bash (core/live-bash.ts, as `/session` uses) started
 * inside a bubblewrap sandbox (sandbox.ts), so cwd, variables and functions persist between
 * runs while the shell sees only its namespaces and its mounts. Sessions are capped
 * (Capacity), expire after their own idle timeout, and are killed as a process group (with
 * the PID namespace, whose init takes every process in it along) on delete, expiry and close.
 */
import { mkdirSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ExecdError, shuttingDown } from '../../../core/errors'
import { HeldDir } from '../../../core/held-dir'
import type { Held } from '../../../core/held-slots'
import { interruptShell } from '../../../core/interrupts'
import { Capacity } from '../../../core/limits'
import { bashRunEvents, runsBound } from '../../../core/live-bash/events'
import type { SseItem } from '../../../core/sse'
import { OwnedTempDir } from '../../../core/temp-dir'
import { awakeNow } from '../../../core/awake-clock'
import { Deadlines } from './expiry'
import { applyChanges, LAYERS_REMOVED, type Committed } from './commit'
import { changesOf, MAX_CHANGES, patchOf, type ChangedPath, type Diff } from './overlay'
import { probe, publicPart, type Capabilities, type Probed } from './probe'
import { makeOverlayDirs, overlayOf } from './layers'
import { hiddenFiles, invalid, NotSupported, validateCreate, type CreateRequest } from './params'
import { runOf, type RunRequest } from './run-request'
import type { IsolatedSettings, Session } from './session'
import { sessionRoot, workspaceOf } from './view'
import type { HeldWorkspace } from './held-workspace'
import { unlessRemoved } from './removed-under'
import { startShell, started, type ShellSettings } from './shell'

export class IsolatedOps {
  private readonly sessions = new Map<string, Session>()
  private readonly temp = new OwnedTempDir('execd-isolated')
  private readonly capacity: Capacity
  private probed: Promise<Probed> | undefined
  private closed = false
  /** Aborted at close: a commit still staging stops (a big file's copy outlasted the shutdown's limit). */
  private readonly stopping = new AbortController()
  /** When each idle session ends: one timer for them all. */
  private readonly idle = new Deadlines<Session>(s => void this.expire(s))
  /** What the sessions' runs hold, queued or running (core/limits.ts QueuedWork). */
  private readonly budget = runsBound('isolated session runs')
  /**
   * What each session's shell has had exported by runs' `envs`, keyed by the shell: a commit's
   * fresh shell starts with none. The exports persist, so their bound is the session's, not one
   * request's: 5 MB given once had every later program of the shell fail with "Argument list too long".
   */
  private readonly exported = new WeakMap<object, Map<string, number>>()

  constructor(readonly settings: IsolatedSettings) {
    this.capacity = new Capacity('isolated sessions', settings.max, 'max-isolated-sessions', () => this.sessions.size)
  }

  /** Who holds this instance's pools (core/held-slots.ts). */
  held(): Held[] {
    return [this.capacity.held(), this.budget.held()]
  }

  /** What this machine offers, probed once (the first call pays for it). */
  async capabilities(): Promise<Capabilities> {
    return publicPart(await this.probe())
  }

  private probe(): Promise<Probed> {
    this.probed ??= probe(this.settings.bwrap)
    return this.probed
  }

  /** The probe, or 503 NOT_SUPPORTED when isolation is unavailable: never an unisolated run. */
  private async usable(): Promise<Probed> {
    const p = await this.probe()
    if (!p.available) throw new NotSupported(`isolation is unavailable: ${p.message}`)
    return p
  }

  async create(req: CreateRequest): Promise<Session> {
    const p = await this.usable()
    const params = validateCreate(req, p, this.settings)
    if (this.closed) throw shuttingDown()
    const release = this.capacity.acquire()
    const id = crypto.randomUUID()
    let home: HeldDir | undefined
    try {
      // Made and held through execd's temp dir's descriptor, then through its own.
      const temp = this.temp.held()
      mkdirSync(temp.beneath(id), { mode: 0o700 })
      home = new HeldDir(temp.beneath(id), join(this.temp.path, id))
      mkdirSync(home.beneath('bash'), { mode: 0o700 })
      if (params.workspace.mode === 'overlay') makeOverlayDirs(home.at, params.workspace.path)
      const dir = home.path
      const created = {
        id,
        params,
        createdAt: new Date().toISOString(),
        dir,
        home,
        runs: 0,
        writes: 0,
        lastUse: 0,
        release,
      }
      const s: Session = { ...created, bash: startShell(created, p, this.sandboxSettings()) }
      const bash = s.bash
      await started(bash)
      if (this.closed) {
        // close() ran while the sandbox started: it never saw this session.
        await bash.close()
        throw shuttingDown()
      }
      this.sessions.set(id, s)
      void bash.exited.then(() => s.bash === bash && !s.commit && s.release())
      this.touch(s)
      return s
    } catch (err) {
      release()
      await home?.remove()
      throw err
    }
  }

  get(id: string): Session {
    const s = this.sessions.get(id)
    if (!s) throw new ExecdError('CONTEXT_NOT_FOUND', `isolated session ${id} not found`)
    return s
  }

  /** For every route but capabilities: 503 without isolation, then 404 for an unknown id. */
  async session(id: string): Promise<Session> {
    await this.usable()
    return this.get(id)
  }

  async list(): Promise<Session[]> {
    await this.usable()
    return [...this.sessions.values()]
  }

  /** Seconds until an idle session is destroyed (null: never; one running or written to is not idle). */
  idleRemaining(s: Session): number | null {
    const idle = s.params.idle_timeout_seconds
    if (!idle) return null
    if (s.runs > 0 || s.writes > 0) return idle
    return Math.max(0, Math.ceil(idle - (awakeNow() - s.lastUse) / 1000))
  }

  /**
   * The session once no commit of it is in flight (one begun meanwhile too); 404 if deleted.
   */
  private async ready(id: string): Promise<Session> {
    for (;;) {
      const s = await this.session(id)
      if (!s.commit) return s
      await s.commit
    }
  }

  async run(id: string, req: RunRequest, signal?: AbortSignal): Promise<AsyncIterable<SseItem>> {
    // Run during a commit, the code met a stopped shell (404 'has ended'), or a shell killed under it.
    const s = await this.ready(id)
    const kept = this.exported.get(s.bash) ?? new Map<string, number>()
    const { code, timeoutMs, exports } = runOf(req, kept)
    if (!s.bash.alive) {
      throw new ExecdError(
        'CONTEXT_NOT_FOUND',
        `isolated session ${id} has ended (${s.bash.endReason}); create a new one`,
      )
    }
    const events = bashRunEvents(s.bash, code, {
      budget: this.budget,
      id: s.id,
      timeoutMs,
      signal,
      ended: 'the isolated session has ended: its shell exited; create a new session',
      // Held out of idle expiry while the run's stream lasts.
      onStart: () => {
        s.runs++
        this.idle.delete(s)
        s.lastRunAt = new Date().toISOString()
      },
      onEnd: () => {
        if (--s.runs === 0 && this.sessions.get(s.id) === s) this.touch(s)
      },
    })
    // Counted once the run is taken: its exports are then in the shell's queue.
    for (const [name, bytes] of exports) kept.set(name, bytes)
    this.exported.set(s.bash, kept)
    return events
  }

  /**
   * What every sandbox gets: the hidden files as they are now (params.ts), the tmpfs bound, the
   * temp dir its code dir must still be in.
   */
  private sandboxSettings(): ShellSettings {
    return { hidden: hiddenFiles(this.settings.hidden), tmpfsBytes: this.settings.tmpfsBytes }
  }

  /** Marks a use: the session's idle timeout counts from now. */
  private touch(s: Session): void {
    s.lastUse = awakeNow()
    const idle = s.params.idle_timeout_seconds
    if (idle > 0) this.idle.set(s, s.lastUse + idle * 1000)
    else this.idle.delete(s)
  }

  private async expire(s: Session): Promise<void> {
    if (s.runs > 0 || s.writes > 0 || this.sessions.get(s.id) !== s) return
    await this.destroy(s)
  }

  /** Interrupts the session's current run, keeping the session; false if unknown. */
  interrupt(id: string): Promise<boolean> {
    return interruptShell(this.sessions.get(id))
  }

  async delete(id: string): Promise<void> {
    await this.destroy(await this.session(id))
  }

  /** Kills the sandbox's process group and removes the session's dir (overlay layers included). */
  async destroy(s: Session): Promise<void> {
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id)
    this.idle.delete(s)
    // A commit in flight is let finish (its fresh shell is closed as it sees the session gone):
    // with its layers removed under it, it had committed 0-299 of 300 files and named execd's run file.
    await s.commit
    await s.bash.close()
    s.release()
    // Awaited, not rmSync: an overlay of 100 000 files held the event loop while it went.
    await s.home.remove()
  }

  /**
   * Replaces a session's shell with a fresh sandbox over the same parameters and dir (after a
   * commit emptied its overlay): the id stays, the shell's state does not.
   */
  private async restart(s: Session): Promise<void> {
    this.idle.delete(s)
    await s.bash.close()
    const fresh = startShell(s, await this.usable(), this.sandboxSettings())
    await started(fresh)
    if (this.sessions.get(s.id) !== s) {
      // Deleted (or shut down) while the fresh sandbox started.
      await fresh.close()
      return
    }
    s.bash = fresh
    void fresh.exited.then(() => this.sessions.get(s.id) === s && s.bash === fresh && !s.commit && s.release())
    this.touch(s)
  }

  /**
   * The session's overlay layers, while execd's temp dir holding them is still the one it made.
   * Once something removed it (a `rm -rf /tmp/*` beside a running session), another user could
   * make a dir of theirs at its name, with an upper layer of their choosing: a commit copied
   * their files into the real workspace, theirs by owner.
   */
  private layersOf(s: Session): { upper: string; workspace: string } {
    const layers = overlayOf(s)
    if (!s.home.intact()) {
      throw new ExecdError('RUNTIME_ERROR', `${LAYERS_REMOVED}: nothing to diff or commit`)
    }
    return layers
  }

  /** The changes of an overlay session's workspace (`patch`: with a unified diff of text files). */
  async diff(id: string, patch: boolean): Promise<Diff> {
    // During a commit, the layer read is being applied and emptied: the diff once it is done.
    const s = await this.ready(id)
    const { upper, workspace } = this.layersOf(s)
    const { changes, truncated } = await changesOf(upper, workspace, sessionRoot(s))
    const out: Diff = { workspace, changes }
    if (patch) {
      const p = await patchOf(changes, upper, workspace)
      out.patch = p.patch
      if (p.truncated) out.truncated = true
    }
    if (truncated) out.truncated = true
    return out
  }

  /**
   * Applies an overlay session's changes to the real workspace, then empties its overlay. The
   * sandbox is stopped first (a lower layer must not change under a mounted overlay) and
   * started afresh over the empty layer: the session keeps its id and parameters, its shell
   * starts anew. If applying fails part way, the layer is kept, so nothing is lost.
   */
  async commit(id: string): Promise<Committed> {
    const s = await this.session(id)
    const { upper, workspace } = this.layersOf(s)
    if (s.runs > 0) throw invalid('a run is in progress: commit once it has ended')
    if (s.commit) throw invalid('a commit of this session is already in progress')
    if (s.writes > 0)
      throw invalid('an upload or another write into the session is in progress: commit once it has ended')
    // Claimed before the walk, which awaits: no second commit, no idle expiry meanwhile.
    const applying = this.applyCommit(s, upper, workspace)
    s.commit = applying.then(
      () => {},
      () => {},
    )
    try {
      return await applying
    } finally {
      s.commit = undefined
    }
  }

  private async applyCommit(s: Session, upper: string, workspace: string): Promise<Committed> {
    this.idle.delete(s)
    let changes: ChangedPath[]
    try {
      const found = await changesOf(upper, workspace, sessionRoot(s))
      if (found.truncated) throw invalid(`more than ${MAX_CHANGES} changed paths: commit refused`)
      changes = found.changes
    } catch (err) {
      if (s.runs === 0) this.touch(s) // refused: idle as before (a run re-arms it as it ends)
      throw err
    }
    if (s.runs > 0) throw invalid('a run is in progress: commit once it has ended')
    await s.bash.close()
    let applied: { applied: ChangedPath[]; skipped: ChangedPath[] } | undefined
    let restarted = false
    try {
      applied = await applyChanges(changes, upper, workspace, this.stopping.signal, () => s.home.intact())
    } finally {
      // Emptied and made again through the dir held; not where the name is another's now: the
      // session's own dir was removed with execd's, and nothing can be made in it any more.
      if (s.home.intact()) {
        if (applied) {
          await rm(s.home.beneath('ovl'), { recursive: true, force: true })
          makeOverlayDirs(s.home.at, workspace)
        }
        await this.restart(s)
        restarted = true
      }
    }
    return { ...applied!, session_restarted: restarted }
  }

  /**
   * Calls `op` with the session's workspace as execd holds it for its sandbox (view.ts
   * `workspaceOf`) once no commit is in flight. A write is counted while it lasts, and a commit refuses to
   * begin meanwhile: a write into the overlay as the commit copied it was lost with the layer
   * it emptied (80 uploads of 80), and one arriving during the commit met a stopped sandbox.
   */
  async overView(
    id: string,
    write: boolean,
    op: (s: Session, view: HeldWorkspace) => Promise<Response>,
  ): Promise<Response> {
    const s = await this.ready(id)
    const view = workspaceOf(s)
    if (!write) return unlessRemoved(s, () => this.sessions.get(s.id) === s, op(s, view))
    // Held out of idle expiry while it lasts, as a run is: an upload slower than the idle
    // timeout had its session (and, in an overlay, the upload) removed under it.
    s.writes++
    this.idle.delete(s)
    try {
      return await unlessRemoved(s, () => this.sessions.get(s.id) === s, op(s, view))
    } finally {
      if (--s.writes === 0 && s.runs === 0 && this.sessions.get(s.id) === s) this.touch(s)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.stopping.abort(shuttingDown())
    await Promise.all([...this.sessions.values()].map(s => this.destroy(s)))
    this.idle.stop()
    this.temp.close()
  }
}
