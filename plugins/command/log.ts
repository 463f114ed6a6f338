/**
 * A command's log file (stdout and stderr interleaved as read). The file is created on the
 * first output byte, not at start: most commands print little or nothing, and an open per
 * command was a fifth of a short command's cost. A command without output has no file; its
 * `/logs` is empty all the same.
 *
 * A log that cannot be written (the disk is full, the temp dir was removed and cannot be made
 * again) stops, says why in `truncated`, and never throws: the command and its stream go on.
 *
 * A log that cannot be opened for want of a descriptor (EMFILE, ENFILE) waits instead: its
 * bytes are held, up to HELD_MAX, and the open is tried again at the next chunk and at the end.
 * Every descriptor taken is a passing state (connections close, execd closes idle ones each
 * second), but the first output of a command that came then lost its whole log for good, though
 * the command had started and went on.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { errnoOf } from '../../core/errors'

/**
 * Bytes a log waiting for a descriptor holds in memory: a few lines of a quiet command's output,
 * and 32 MiB over the 512 commands that may run, all printing while execd has no descriptor.
 */
export const HELD_MAX = 64 * 1024

export class CommandLog {
  private fd: number | undefined
  private closed = false
  /** Why the log stopped before the output did, once it has. */
  truncated: string | undefined
  /** Bytes that came while no descriptor could be had for the file, oldest first. */
  private held: Uint8Array[] = []
  private heldBytes = 0
  /** Why the held bytes wait, while they do. */
  private waiting: string | undefined

  /** @param at where the log is opened: beneath its dir, made again if missing (throws if it cannot) */
  constructor(private readonly at: () => string) {}

  /** Appends the chunk; returns the bytes that reached the file or wait for it. */
  write(chunk: Uint8Array): number {
    if (this.closed || this.truncated !== undefined || chunk.length === 0) return 0
    let written = 0
    try {
      if (!this.opened()) return this.hold(chunk)
      while (written < chunk.length) written += writeSync(this.fd!, chunk, written)
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

  /** The end of the output: held bytes get a last try at the file, or the log says why not. */
  close(): void {
    if (this.heldBytes > 0 && this.truncated === undefined) {
      try {
        this.opened()
      } catch (err) {
        this.stop(err)
      }
      if (this.fd === undefined) this.truncate(this.waiting!)
    }
    this.closed = true
    this.release()
  }

  /**
   * Whether the file is open, opening it if it is not; held bytes are written first. False when
   * no descriptor could be had (the bytes are then kept); throws what else the open or write met.
   */
  private opened(): boolean {
    if (this.fd !== undefined) return true
    try {
      this.fd = this.open()
    } catch (err) {
      const code = errnoOf(err)
      if (code !== 'EMFILE' && code !== 'ENFILE') throw err
      this.waiting = `log write failed: no file descriptor for the log (${code}) while its output came`
      return false
    }
    const held = this.held
    this.held = []
    this.heldBytes = 0
    for (const bytes of held) {
      for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at)
    }
    return true
  }

  /** Keeps a copy of the chunk (its buffer is the reader's) until the file opens, within HELD_MAX. */
  private hold(chunk: Uint8Array): number {
    if (this.heldBytes + chunk.length > HELD_MAX) {
      this.truncate(this.waiting!)
      return 0
    }
    this.held.push(chunk.slice())
    this.heldBytes += chunk.length
    return chunk.length
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
    this.held = []
    this.heldBytes = 0
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd)
      } catch {}
    }
    this.fd = undefined
  }
}
