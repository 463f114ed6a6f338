/**
 * Every command execd ran, by id: its status, its log file (stdout and stderr interleaved as
 * read) and the journal of its events. Finished commands are kept within limits (count, age,
 * total log bytes), then their status and log are removed; only the newest few keep their
 * journal in memory. All log files live in one private temp dir, removed on close.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecEvent } from '../../core/events'
import type { Journal } from '../../core/journal'
import type { OwnedProcess } from '../../core/process'
import { OwnedTempDir } from '../../core/temp-dir'
import { awakeNow } from '../../core/awake-clock'
import { PERIODS } from '../../core/periods'
import { shareInterval } from '../../core/shared-interval'

export interface CommandRecord {
  id: string
  content: string
  background: boolean
  startedAt: Date
  /** performance.now() at the start: `execution_time` is not the wall clock's (it may be stepped). */
  startedMono: number
  finishedAt?: Date
  /**
   * When it finished on the awake clock, for `--command-retention-age`: a stop of execd is no
   * time its client had to fetch it (core/awake-clock.ts). Stamped when the store learns of it.
   */
  finishedAwake?: number
  running: boolean
  exitCode?: number
  error?: string
  logBytes: number
  /** Why the log stopped before the output did (a full disk, the log size limit). */
  logTruncated?: string
  /** Released (undefined) once the command is old enough; /events then reports the gap. */
  journal?: Journal
  lastEventId: number
  terminal?: ExecEvent
  /** Kept after the leader exits: what it left running is still this command's to kill. */
  proc?: OwnedProcess
  /** Resolves once the command has finished and its terminal event is recorded. */
  done: Promise<void>
}

export interface RetentionLimits {
  count: number
  ageMs: number
  bytes: number
  /** Finished commands that keep their event journal in memory. */
  journals: number
}

export class CommandStore {
  private readonly temp = new OwnedTempDir('execd-commands')
  private made = false
  private readonly records = new Map<string, CommandRecord>()
  /**
   * Finished commands in the order they finished, oldest first, and their total log bytes:
   * pruning takes from the front, without sorting every record each time a command ends.
   */
  private readonly finished = new Set<CommandRecord>()
  private finishedBytes = 0
  /**
   * Log bytes of the commands still running: each may write --command-log-max-bytes, and 50
   * `yes` commands wrote 467 MB to execd's temp disk in 30 s with nothing bounding them together.
   */
  private runningBytes = 0
  /** The finished commands that still hold their journal, oldest first. */
  private readonly journaled = new Set<CommandRecord>()
  private readonly stopTimer: () => void
  /** Pruned logs still being unlinked (at most one per pruned command, each settles). */
  private readonly unlinking = new Set<Promise<void>>()

  constructor(readonly limits: RetentionLimits) {
    // With the other 30 s sweeps (contexts', terminals'): one wake-up (core/shared-interval.ts).
    this.stopTimer = shareInterval(PERIODS.sweep, () => this.prune())
  }

  /**
   * Made on first use, so a process that runs no command leaves nothing behind. A dir that
   * cannot be made is not an error here: the log that needs it says so.
   */
  get dir(): string {
    if (!this.made) {
      this.made = true
      try {
        this.temp.ensure()
      } catch {}
    }
    return this.temp.path
  }

  /**
   * Where a log is written: beneath the dir held open (core/held-dir.ts), made again if something
   * removed it; throws if it cannot be made. A look at the name, then an open by name, left the
   * moment between for another user's dir put at the name once a cleaner removed execd's.
   */
  readonly logAt = (id: string): string => {
    this.made = true
    return this.temp.held().beneath(logName(id))
  }

  /**
   * Where a log is read or removed: beneath the dir held, while its name is still that dir. Once
   * not, the logs went with it and nothing is made again: `/logs` read another user's file put
   * at the log's name, as theirs to write.
   */
  logIn(r: CommandRecord): string | undefined {
    return this.temp.intact() ? this.temp.held().beneath(logName(r.id)) : undefined
  }

  logPathFor(id: string): string {
    return join(this.dir, logName(id))
  }

  /** A command, running or (its status restored, in tests) already finished. */
  add(record: CommandRecord): void {
    // The first command makes the dir, and with it sweeps the dirs of runs killed before (a CLI
    // run's `exec --shell true` writes no log, and made none: nothing swept them).
    if (!this.made) void this.dir
    this.records.set(record.id, record)
    if (!record.running) this.ended(record)
  }

  /** Marks `record` finished (its log closed, its bytes final), then applies the limits. */
  finish(record: CommandRecord): void {
    if (!this.finished.has(record)) this.runningBytes = Math.max(0, this.runningBytes - record.logBytes)
    this.ended(record)
    this.prune()
  }

  get(id: string): CommandRecord | undefined {
    return this.records.get(id)
  }

  get size(): number {
    return this.records.size
  }

  /** Applies the retention limits to finished commands, oldest first. */
  prune(now = awakeNow()): void {
    for (const r of this.finished) {
      const old = now - (r.finishedAwake ?? now) > this.limits.ageMs
      // Those after it finished later: newer, and fewer and smaller once it is kept.
      if (!old && this.finished.size <= this.limits.count && this.finishedBytes <= this.limits.bytes) break
      this.remove(r)
    }
  }

  /** What running commands may still write to their logs together, of `total`. */
  logRoom(total: number): number {
    return total - this.runningBytes
  }

  /** A running command wrote `bytes` to its log. */
  logged(bytes: number): void {
    this.runningBytes += bytes
  }

  /** Resolves once every pruned log so far is unlinked. */
  async unlinked(): Promise<void> {
    await Promise.all(this.unlinking)
  }

  /** Removes every log (shutdown, or the CLI when done). */
  close(): void {
    this.stopTimer()
    this.records.clear()
    this.finished.clear()
    this.journaled.clear()
    this.finishedBytes = 0
    this.runningBytes = 0
    this.temp.close()
  }

  private ended(r: CommandRecord): void {
    if (this.finished.has(r) || !this.records.has(r.id)) return
    r.finishedAwake ??= awakeNow()
    this.finished.add(r)
    this.finishedBytes += r.logBytes
    if (!r.journal) return
    this.journaled.add(r)
    for (const old of this.journaled) {
      if (this.journaled.size <= this.limits.journals) break
      this.journaled.delete(old)
      old.journal = undefined
    }
  }

  private remove(r: CommandRecord): void {
    this.records.delete(r.id)
    if (this.finished.delete(r)) this.finishedBytes -= r.logBytes
    this.journaled.delete(r)
    // A command that wrote no output never made its file (see log.ts): nothing to unlink.
    // Whatever else is left in the dir goes with it on close. Not awaited, on the thread pool:
    // a 128 MiB log's page-cache eviction held the event loop ~25 ms (every request waited).
    // The record is already gone (its routes answer 404), its bytes already given back.
    if (r.logBytes === 0) return
    const at = this.logIn(r)
    if (!at) return
    const gone = rm(at, { force: true })
      .catch(() => {})
      .finally(() => this.unlinking.delete(gone))
    this.unlinking.add(gone)
  }
}

const logName = (id: string) => `${id}.output`
