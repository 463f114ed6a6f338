/**
 * execd's writes on an interpreter's channel (plugins/python/channel.ts and
 * plugins/javascript/channel.ts read it). The fd is non-blocking (Bun owns it as a socket), so a
 * write the socket buffer cannot take whole is finished later, and every write after it waits
 * its turn: messages never interleave.
 */
import { writeSync } from 'node:fs'
import { nextTurn, sleep } from './timers'

/**
 * Characters of a long string member encoded and written at a time. A 16 MiB cell's message
 * made at once (JSON.stringify, then Buffer.from) held the event loop 100–250 ms, and the write
 * of its bytes as long again while the interpreter read them.
 */
export const MESSAGE_PIECE = 256 * 1024

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
    return this.chain(() => this.rest(data, offset))
  }

  /**
   * One JSON line of `message` and, as its member `key`, the long string `long`: made and
   * written a piece at a time, the event loop let turn between pieces, in turn with every other
   * write. A short one goes as `write` sends it.
   */
  writeJsonLine(message: Record<string, unknown>, key: string, long: string): Promise<void> | undefined {
    if (long.length <= MESSAGE_PIECE) return this.write(Buffer.from(`${JSON.stringify({ ...message, [key]: long })}\n`))
    const head = JSON.stringify(message)
    const open = `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}${JSON.stringify(key)}:"`
    return this.chain(async () => {
      await this.rest(Buffer.from(open), 0)
      for (let at = 0; at < long.length;) {
        await nextTurn()
        const end = pieceEnd(long, at)
        const quoted = JSON.stringify(long.slice(at, end))
        await this.rest(Buffer.from(quoted.slice(1, -1)), 0)
        at = end
      }
      await this.rest(Buffer.from('"}\n'), 0)
    })
  }

  private chain(write: () => Promise<void>): Promise<void> {
    this.queued++
    this.writing = this.writing.then(write)
    void this.writing.finally(() => this.queued--).catch(() => {})
    return this.writing
  }

  /**
   * Writes `data` from `offset` as the socket takes it: a turn of the event loop after each part
   * taken (an interpreter reading as fast as execd writes kept the loop here for the whole of a
   * large cell), 2 ms when it takes nothing.
   */
  private async rest(data: Uint8Array, offset: number): Promise<void> {
    while (offset < data.length) {
      if (this.closed) throw new Error('interpreter channel is closed')
      try {
        offset += writeSync(this.fd, data, offset)
        if (offset < data.length) await nextTurn()
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
        await sleep(2)
      }
    }
  }
}

/**
 * Where the piece of `text` from `at` ends: MESSAGE_PIECE characters on, or one fewer so as not
 * to part a surrogate pair (JSON would write each half as an escape of its own, UTF-8 each as
 * U+FFFD).
 */
export function pieceEnd(text: string, at: number): number {
  const end = Math.min(text.length, at + MESSAGE_PIECE)
  const c = text.charCodeAt(end - 1)
  return end < text.length && c >= 0xd800 && c <= 0xdbff ? end - 1 : end
}
