/**
 * Every command execd ran, by id: its status, its log file (stdout and stderr interleaved as
 * read) and the journal of its events. Finished commands are kept within limits (count, age,
 * total log bytes), then their status and log are removed; only the newest few keep their
 * journal in memory. All log files live in one private temp dir, removed on close.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecEvent } from '../../core/events'
import type { Journal } from '../../core/journal'
import type { OwnedProcess } from '../../core/process'
import { OwnedTempDir } from '../../core/temp-dir'

export interface CommandRecord {
  id: string
  content: string
  background: boolean
  startedAt: Date
  finishedAt?: Date
  running: boolean
  exitCode?: number
  error?: string
  logPath: string
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
  private readonly timer: ReturnType<typeof setInterval>

  constructor(readonly limits: RetentionLimits) {
    this.timer = setInterval(() => this.prune(), 30_000)
    this.timer.unref?.()
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

  /** For a log: the dir, made again if something removed it; throws if it cannot be made. */
  readonly ensureDir = (): void => {
    this.made = true
    this.temp.ensure()
  }

  logPathFor(id: string): string {
    return join(this.dir, `${id}.output`)
  }

  add(record: CommandRecord): void {
    this.records.set(record.id, record)
  }

  get(id: string): CommandRecord | undefined {
    return this.records.get(id)
  }

  get size(): number {
    return this.records.size
  }

  /** Applies the retention limits to finished commands, oldest first. */
  prune(now = Date.now()): void {
    const finished = [...this.records.values()]
      .filter(r => !r.running)
      .sort((a, b) => (a.finishedAt?.getTime() ?? 0) - (b.finishedAt?.getTime() ?? 0))
    let bytes = finished.reduce((n, r) => n + r.logBytes, 0)
    let excess = finished.length - this.limits.count
    for (const r of finished) {
      const old = now - (r.finishedAt?.getTime() ?? now) > this.limits.ageMs
      if (excess > 0 || old || bytes > this.limits.bytes) {
        this.remove(r)
        excess--
        bytes -= r.logBytes
      }
    }
    const kept = finished.filter(r => this.records.has(r.id))
    for (const r of kept.slice(0, Math.max(0, kept.length - this.limits.journals))) r.journal = undefined
  }

  /** Removes every log (shutdown, or the CLI when done). */
  close(): void {
    clearInterval(this.timer)
    this.records.clear()
    this.temp.close()
  }

  private remove(r: CommandRecord): void {
    this.records.delete(r.id)
    // A command that wrote no output never made its file (see log.ts): nothing to unlink.
    // Whatever else is left in the dir goes with it on close.
    if (r.logBytes > 0) rmSync(r.logPath, { force: true })
  }
}
