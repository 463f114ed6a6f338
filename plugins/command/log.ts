/**
 * A command's log file (stdout and stderr interleaved as read). The file is created on the
 * first output byte, not at start: most commands print little or nothing, and an open per
 * command was a fifth of a short command's cost. A command without output has no file; its
 * `/logs` is empty all the same.
 */
import { closeSync, openSync, writeSync } from 'node:fs'

export class CommandLog {
  private fd: number | undefined
  private closed = false

  constructor(readonly path: string) {}

  write(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return
    this.fd ??= openSync(this.path, 'a', 0o600)
    writeSync(this.fd, chunk)
  }

  close(): void {
    this.closed = true
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
