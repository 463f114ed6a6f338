/**
 * execd's writes on an interpreter's channel (plugins/python/channel.ts and
 * plugins/javascript/channel.ts read it). The fd is non-blocking (Bun owns it as a socket), so a
 * write the socket buffer cannot take whole is finished later, and every write after it waits
 * its turn: messages never interleave.
 */
import { writeSync } from 'node:fs'
import { sleep } from './timers'

export class ChannelWrites {
  private writing: Promise<void> = Promise.resolve()
  /** Writes chained on `writing` and not yet done. */
  private queued = 0

  /** Set once the channel has closed (our end, or the other side gone): nothing more is written. */
  closed = false

  constructor(private readonly fd: number) {}

  /**
   * Writes bytes as they are. With none waiting they are written at once, before anything else
   * the caller's tick does: a cell's code then reaches the interpreter before execd sets up the
   * response it will fill. Undefined when they were written whole at once (a warm cell's code):
   * nothing to wait for, no promise made.
   */
  write(data: Uint8Array): Promise<void> | undefined {
    let offset = 0
    if (this.queued === 0 && !this.closed) {
      try {
        offset = writeSync(this.fd, data)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return Promise.reject(err)
      }
      if (offset === data.length) return undefined
    }
    this.queued++
    this.writing = this.writing.then(async () => {
      while (offset < data.length) {
        if (this.closed) throw new Error('interpreter channel is closed')
        try {
          offset += writeSync(this.fd, data, offset)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
          await sleep(2)
        }
      }
    })
    void this.writing.finally(() => this.queued--).catch(() => {})
    return this.writing
  }
}
