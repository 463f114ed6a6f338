/**
 * The log file of `--log-file` / `EXECD_LOG_FILE`, apart from the logger (core/log.ts): only a
 * start that names one loads it, and with it node:fs.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { errnoText } from './errors'
import { toStderr } from './log'

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
      toStderr(line)
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
