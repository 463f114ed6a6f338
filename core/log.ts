/**
 * Structured JSON logs, one object per line, to stderr or to an appended file (`--log-file`,
 * `EXECD_LOG_FILE`). Secrets never reach this module.
 */
import type { FileSink } from 'bun'

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
 * Writes to stderr or stdout through Bun's native writer, not `process.stderr`: that node stream
 * loads node's stream modules, which cost every `serve` start ~10 ms of CPU for its first log
 * line. Buffered and in order like `process.stderr`; a line that cannot be written is dropped.
 * A write that fails later (the terminal of `execd serve &` closed: EIO) comes back as a
 * rejected promise from `write` or `flush`, not as a throw: left alone, the first log line
 * after the hang-up (a `signal ignored`) was an unhandled rejection that ended execd on the spot,
 * its children left running without their owner.
 */
function consoleSink(stream: 'stderr' | 'stdout'): (line: string) => void {
  let sink: FileSink | undefined
  return line => {
    try {
      sink ??= (stream === 'stderr' ? Bun.stderr : Bun.stdout).writer()
      const wrote = sink.write(line)
      if (wrote instanceof Promise) wrote.catch(dropLine)
      const flushed = sink.flush()
      if (flushed instanceof Promise) flushed.catch(dropLine)
    } catch {
      // Nowhere left to report it.
    }
  }
}

// Nowhere left to report it either.
const dropLine = () => {}

/** Log lines to stderr (the default). */
export const toStderr = consoleSink('stderr')

/** Log lines to stdout (`--log-file stdout`), as safe as stderr's. */
export const toStdout = consoleSink('stdout')

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
