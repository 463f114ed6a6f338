/**
 * Structured JSON logs, one object per line, to stderr or to an appended file (`--log-file`,
 * `EXECD_LOG_FILE`). Secrets never reach this module.
 */
import type { FileSink } from 'bun'
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { errnoText } from './errors'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

/**
 * Accepts our names and the reference's numeric levels (≤2 fatal, 3 error, 4 warn,
 * 5–6 info, ≥7 debug) so a reference deployment's `--log-level 7` keeps working.
 */
export function parseLogLevel(value: string | undefined): LogLevel {
  if (!value) return 'info'
  const v = value.toLowerCase()
  if (v in RANK) return v as LogLevel
  const n = Number(v)
  if (!Number.isInteger(n)) throw new Error(`invalid log level '${value}' (debug, info, warn, error, silent or 0-7)`)
  if (n >= 7) return 'debug'
  if (n >= 5) return 'info'
  if (n === 4) return 'warn'
  return 'error'
}

/**
 * stderr through Bun's native writer, not `process.stderr`: that node stream loads node's
 * stream modules, which cost every `serve` start ~10 ms of CPU for its first log line.
 * Buffered and in order like `process.stderr`; a write that fails (stderr closed) is dropped.
 */
let stderrSink: FileSink | undefined
const toStderr = (line: string): void => {
  try {
    stderrSink ??= Bun.stderr.writer()
    stderrSink.write(line)
    const flushed = stderrSink.flush()
    if (flushed instanceof Promise) flushed.catch(() => {})
  } catch {
    // Nowhere left to report it.
  }
}

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = toStderr,
): Logger {
  const min = RANK[level]
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return
    const entry = { level: lvl, ts: new Date().toISOString(), msg, ...base, ...fields }
    write(`${JSON.stringify(entry, errorReplacer)}\n`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: fields => createLogger(level, { ...base, ...fields }, write),
  }
}

function errorReplacer(_key: string, value: unknown) {
  return value instanceof Error ? { name: value.name, message: value.message } : value
}

/**
 * The log file of `--log-file` / `EXECD_LOG_FILE`, opened as the reference opens it (append,
 * create, 0644 before the umask). Each line is one synchronous append, so lines of one process
 * never interleave and none is lost at exit. `reopen()` is for log rotation: after logrotate
 * renamed the file, SIGHUP makes execd write to a fresh file at the configured path. The
 * descriptor is close-on-exec (the runtime's default), so no child inherits it.
 */
export class LogFile {
  private fd: number

  /** Throws an Error whose message names the path and the errno in words. */
  constructor(readonly path: string) {
    this.fd = LogFile.open(path)
  }

  private static open(path: string): number {
    try {
      return openSync(path, 'a', 0o644)
    } catch (err) {
      throw new Error(`cannot open the log file '${path}': ${errnoText(err)}`, { cause: err })
    }
  }

  /**
   * A line that cannot be written (disk full, file system gone) goes to stderr instead, whole.
   * A disk that fills up within a line takes what fits in the file's last page: that piece is
   * cut off the file again, or the next line that fit was glued to it (and the rest was lost).
   */
  readonly write = (line: string): void => {
    const bytes = Buffer.from(line)
    let written = 0
    try {
      while (written < bytes.length) written += writeSync(this.fd, bytes, written)
    } catch {
      if (written > 0) {
        try {
          ftruncateSync(this.fd, fstatSync(this.fd).size - written)
        } catch {}
      }
      process.stderr.write(line)
    }
  }

  /** Opens the path afresh and switches to it; on failure keeps writing where it was. */
  reopen(): void {
    const fresh = LogFile.open(this.path)
    const old = this.fd
    this.fd = fresh
    closeSync(old)
  }

  close(): void {
    try {
      closeSync(this.fd)
    } catch {
      // already closed
    }
  }
}
