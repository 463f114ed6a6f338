/**
 * Lines to a child over a pipe execd made (writerPipe, core/output-pipes.ts), written with one
 * `write(2)` each. Bun's stdin sink is a socketpair: each of its writes armed a poll for
 * writability and woke the event loop once more (the keeper's two lines a command were 2
 * `epoll_ctl`s, 2 `sendto`s and ~1.2 turns of the loop, bench/command-syscalls.ts); a write
 * here is the one system call. What the pipe has no room for (its reader is behind) waits here,
 * in order, and is offered again with the next line or after RETRY_MS, whichever comes first.
 */
import { writeSync } from 'node:fs'
import { closeQuietly } from './output-pipes'

/** How soon text the full pipe had no room for is offered again, if no line comes first. */
const RETRY_MS = 100

export class LinePipe {
  /**
   * Bytes the pipe had no room for: written before any line after it. Bytes, not characters: a
   * line may carry a path that is not ASCII, and a partial write can end inside a character.
   */
  private behind: Buffer = Buffer.alloc(0)
  private retry: ReturnType<typeof setTimeout> | undefined
  private closed = false

  /**
   * `fd`: the non-blocking write end, owned from now on. `maxBehind`: bytes held past which
   * `overflow` is called (once per line that finds them) instead of holding more: the reader has
   * stopped reading.
   */
  constructor(
    private readonly fd: number,
    private readonly maxBehind: number,
    private readonly overflow: () => void,
  ) {}

  /** Bytes waiting for room in the pipe. */
  get waiting(): number {
    return this.behind.length
  }

  /** Writes `text` after what is waiting, or keeps it waiting. False: the reader is gone (EPIPE). */
  write(text: string): boolean {
    if (this.closed) return false
    const all = this.behind.length ? Buffer.concat([this.behind, Buffer.from(text)]) : Buffer.from(text)
    let wrote = 0
    try {
      wrote = writeSync(this.fd, all)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.behind = Buffer.alloc(0)
        return false
      }
    }
    this.behind = all.subarray(wrote)
    if (!this.behind.length) return true
    if (this.behind.length > this.maxBehind) {
      this.overflow()
      return true
    }
    this.retry ??= setTimeout(() => {
      this.retry = undefined
      if (this.behind.length) this.write('')
    }, RETRY_MS)
    this.retry.unref?.()
    return true
  }

  /** Closes the write end (its reader sees EOF once it has read what was written); idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.behind = Buffer.alloc(0)
    clearTimeout(this.retry)
    closeQuietly(this.fd)
  }
}
