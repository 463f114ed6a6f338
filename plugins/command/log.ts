/**
 * A command's log file (stdout and stderr interleaved as read). The file is created on the
 * first output byte, not at start: most commands print little or nothing, and an open per
 * command was a fifth of a short command's cost. A command without output has no file; its
 * `/logs` is empty all the same.
 *
 * A log that cannot be written (the disk is full, the temp dir was removed and cannot be made
 * again) stops, says why in `truncated`, and never throws: the command and its stream go on.
 */
import { closeSync, openSync, writeSync } from 'node:fs'

export class CommandLog {
  private fd: number | undefined
  private closed = false
  /** Why the log stopped before the output did, once it has. */
  truncated: string | undefined

  /** @param at where the log is opened: beneath its dir, made again if missing (throws if it cannot) */
  constructor(private readonly at: () => string) {}

  /** Appends the chunk; returns the bytes that reached the file. */
  write(chunk: Uint8Array): number {
    if (this.closed || this.truncated !== undefined || chunk.length === 0) return 0
    let written = 0
    try {
      this.fd ??= this.open()
      while (written < chunk.length) written += writeSync(this.fd, chunk, written)
    } catch (err) {
      this.stop(err)
    }
    return written
  }

  /** Stops writing, keeping what was written; `reason` says why. */
  truncate(reason: string): void {
    this.truncated ??= reason
    this.release()
  }

  close(): void {
    this.closed = true
    this.release()
  }

  /**
   * Through the dir held open, not its name: once removed, another user of a shared TMPDIR could
   * put a dir of theirs at its name, and the output went into a file there, theirs to read.
   */
  private open(): number {
    return openSync(this.at(), 'a', 0o600)
  }

  private stop(err: unknown): void {
    this.truncate(`log write failed: ${err instanceof Error ? err.message : String(err)}`)
  }

  private release(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd)
      } catch {}
    }
    this.fd = undefined
  }
}
