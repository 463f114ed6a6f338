/**
 * The commands section's plain operations (CONTRACT §4): run, status, logs, events, interrupt.
 * They know nothing of HTTP; the routes and `execd exec --shell` call them.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { ExecdError, PREFIX, badRequest, errnoOf } from '../../core/errors'
import { makeEvent, type ExecEvent } from '../../core/events'
import { UnreadPacer } from '../../core/fair'
import type { Held } from '../../core/held-slots'
import { Capacity } from '../../core/limits'
import { FROM_THE_START, replayFrom, type ReplayStart } from '../../core/replay-start'
import { within } from '../../core/timers'
import type { CommandRequest } from './contract'
import type { SourceWithHeaders, SseItem } from '../../core/sse'
import { workingDir } from '../../core/workdir'
import { argumentProblem, envsProblem } from '../../core/exec-strings'
import { commandEnv, lookupUser } from './env'
import { startCommand, type Prepared, type RunSettings } from './run'
import { CommandStore, type CommandRecord, type RetentionLimits } from './store'

export interface CommandSettings extends RunSettings {
  retention: RetentionLimits
  /** ms between SIGTERM and SIGKILL on interrupt. */
  interruptGraceMs: number
  /** Background commands running at once (0: no limit). */
  maxBackground?: number
  /** Commands running at once, foreground and background; 0 or absent = no limit. */
  maxRunning?: number
  /** This daemon's --root as its real path (core/workdir.ts workRoot), which working directories stay within. */
  root?: string
}

export interface CommandStatus {
  id: string
  content?: string
  running: boolean
  exit_code?: number
  error?: string
  started_at: string
  finished_at?: string
  /** Why the log stopped before the output did ('log write failed: ENOSPC: …'). */
  log_truncated?: string
}

export class CommandOps {
  readonly store: CommandStore
  private readonly background: Capacity
  /** Foreground commands go on when their client leaves, so they need a cap of their own. */
  private readonly running: Capacity
  /** One share of the event loop for the output of every command nobody reads (core/fair.ts). */
  private readonly unread = new UnreadPacer()

  constructor(readonly settings: CommandSettings) {
    this.store = new CommandStore(settings.retention)
    this.background = new Capacity('background commands', settings.maxBackground ?? 0, 'max-background-commands')
    this.running = new Capacity('running commands', settings.maxRunning ?? 0, 'max-commands')
  }

  /** Who holds this instance's pools (core/held-slots.ts). */
  held(): Held[] {
    return [this.background.held(), this.running.held()]
  }

  /**
   * Validates and starts a command. Foreground: the journal's events (init … terminal), so
   * a client that goes away stops nothing. Background: init and execution_complete at once.
   */
  async run(req: CommandRequest): Promise<AsyncIterable<ExecEvent | SseItem>> {
    const record = this.start(req)
    if (!req.background) return record.journal!.read(0)
    return (async function* () {
      yield makeEvent('init', { text: record.id })
      yield makeEvent('execution_complete', { execution_time: Math.round(performance.now() - record.startedMono) })
    })()
  }

  /**
   * run() for an SSE response: a foreground command's events with the promise of its end, so
   * one that ends within the response's hold goes out whole, framed in one tick, as a warm cell
   * does (core/sse.ts) — not gathered event by event against a timer. One that has printed
   * nothing beyond its start is held longer (`spoke`: the journal's first event after them).
   * Not async: a foreground command's source is made in this tick and answered without a
   * promise of its own (core/sse.ts streamed), as a warm cell's is.
   */
  respond(req: CommandRequest): Promise<AsyncIterable<ExecEvent | SseItem>> | SourceWithHeaders {
    if (req.background) return this.run(req)
    const record = this.start(req)
    const journal = record.journal!
    // Read as frames (core/output-frames.ts): only the SSE writer takes these events.
    return {
      events: journal.read(0, { frames: true }),
      headers: {},
      ended: record.done,
      spoke: journal.beyond(journal.lastId),
    }
  }

  /** Validates and starts; the record's journal is not yet read by anyone. */
  start(req: CommandRequest): CommandRecord {
    const prepared = prepare(req, this.settings.root)
    // A missing shell or /dev/null (its stdin) is the 501 startCommand throws.
    const slots = [this.running.acquire(req.background ? 'background' : 'foreground')]
    try {
      if (req.background) slots.push(this.background.acquire('background'))
      const record = startCommand(prepared, this.store, this.settings, this.unread)
      void record.done.then(() => slots.forEach(release => release()))
      return record
    } catch (err) {
      slots.forEach(release => release())
      throw err
    }
  }

  status(id: string): CommandStatus {
    const r = this.get(id)
    return {
      id: r.id,
      content: r.content || undefined,
      running: r.running,
      exit_code: r.running ? undefined : r.exitCode,
      error: r.error || undefined,
      started_at: rfc3339(r.startedAt),
      finished_at: r.finishedAt ? rfc3339(r.finishedAt) : undefined,
      log_truncated: r.logTruncated,
    }
  }

  /**
   * Log bytes from `cursor` to the end as opened, and the cursor to ask with next. They come
   * from one descriptor (`handle`, which the caller reads `from`…`end` of and closes): the file
   * renamed or removed once it is open changes nothing. No file (no output yet, or none any
   * more): no handle, an empty body.
   */
  async logs(id: string, cursor = 0): Promise<{ handle?: FileHandle; from: number; end: number; next: number }> {
    if (!Number.isInteger(cursor) || cursor < 0) throw badRequest(`error seek file: invalid cursor ${cursor}`)
    const r = this.get(id)
    // Beneath the dir held open; none once its name is not that dir (the logs went with it).
    const at = this.store.logIn(r)
    const handle =
      at === undefined
        ? undefined
        : await open(at, 'r').catch(err => {
            if (errnoOf(err) === 'ENOENT') return undefined
            throw err
          })
    let size = 0
    try {
      size = handle ? (await handle.stat()).size : 0
    } catch (err) {
      await handle?.close()
      throw err
    }
    const from = Math.min(cursor, size)
    return { handle, from, end: size, next: Math.max(cursor, size) }
  }

  /**
   * The command's events after the client's last id, then live ones until it ends (resumable
   * streams); an id it never sent is a 400 (core/replay-start.ts).
   */
  events(id: string, start: ReplayStart = FROM_THE_START): AsyncIterable<SseItem> {
    const r = this.get(id)
    if (r.journal) return r.journal.read(replayFrom(start, r.journal.lastId, 'command'), { paces: false, frames: true })
    // The journal was released (retention): say what is gone, then how it ended.
    const terminal = r.terminal
    const last = r.lastEventId
    const afterId = replayFrom(start, last, 'command')
    return (async function* () {
      // A client that has every event but the terminal one missed nothing else: no gap to report
      // (one from `last` to `last - 1` was). The gap's id is its last: resumed from, it is past.
      if (afterId < last - 1) {
        const dropped = { from: afterId + 1, to: last - 1 }
        yield { id: last - 1, event: makeEvent('status', { text: 'events_dropped', dropped }) }
      }
      if (terminal && afterId < last) yield { id: last, event: terminal }
    })()
  }

  /** SIGTERM the group, SIGKILL after the grace period; true once stopped, false if unknown. */
  async interrupt(id: string): Promise<boolean> {
    const r = this.store.get(id)
    if (!r) return false
    if (r.proc) await r.proc.kill('interrupt', this.settings.interruptGraceMs)
    // Let the status say "finished" when the caller looks next (unless a reader holds it up).
    await within(r.done, 1000)
    return true
  }

  close(): void {
    this.store.close()
  }

  private get(id: string): CommandRecord {
    const r = this.store.get(id)
    if (!r) throw new ExecdError('CONTEXT_NOT_FOUND', `command not found: ${id}`)
    return r
  }
}

/**
 * The largest uid/gid the spawner takes (a signed 32-bit int): past it the stream began and its
 * error event quoted the runtime's range error, where a bad id is a 400 before anything runs.
 */
const MAX_SPAWN_ID = 0x7fffffff

function prepare(req: CommandRequest, root: string | undefined): Prepared {
  if (typeof req.command !== 'string' || req.command === '') throw invalid('command is required')
  const commandProblem = argumentProblem('command', req.command)
  if (commandProblem) throw invalid(commandProblem)
  const envsBad = envsProblem(req.envs ?? {})
  if (envsBad) throw invalid(envsBad)
  if (req.timeout !== undefined && (!Number.isFinite(req.timeout) || req.timeout < 0)) {
    throw invalid(`timeout must be a non-negative number of milliseconds, got ${req.timeout}`)
  }
  if (req.gid !== undefined && req.uid === undefined) throw invalid('uid is required when gid is provided')
  for (const [k, v] of [
    ['uid', req.uid],
    ['gid', req.gid],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MAX_SPAWN_ID)) {
      throw invalid(`${k} must be an integer from 0 to ${MAX_SPAWN_ID}`)
    }
  }
  const user = req.uid === undefined ? undefined : lookupUser(req.uid)
  const env = commandEnv(req.envs ?? {}, user)
  // Expanded with the command's environment (execd's, the EXECD_ENVS file, the request's envs).
  const cwd = workingDir('command', req.cwd, env, root)
  // An entry whose group is no number (or none at all): the uid's own number, never root's 0.
  const gid = req.gid ?? (user ? (user.gid ?? user.uid) : undefined)
  return { req, cwd, env, uid: req.uid, gid }
}

const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)

/** RFC 3339 in UTC with the fraction's trailing zeros trimmed, like Go's RFC3339Nano. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.?0+Z$/, 'Z')
