/**
 * JSON lines over the socketpair fd a runtime's interpreter gets as fd 3 (spawnOwned's
 * extraFds): execd's protocol channel, apart from the user's stdout/stderr.
 */
import { writeSync } from 'node:fs'
import { JsonLines } from '../../core/json-lines'
import { sleep } from '../../core/timers'

/**
 * Characters of whole lines received and not yet taken past which the socket stops being read
 * (the interpreter then blocks on its writes). A line still without its newline does not count:
 * only its newline lets it be taken, so it must be read (JsonLines bounds it).
 */
const MAX_UNREAD = 256 * 1024

/** An error of the cell for a message over the line limit: its value silently never came. */
const valueTooLarge = (chars: number): string =>
  JSON.stringify({
    type: 'error',
    error: {
      ename: 'ValueTooLarge',
      evalue: `a message of ${chars} characters from the interpreter (a value, or output) is over the limit and was dropped`,
      traceback: [],
    },
  })

export class LineChannel {
  private readonly decoder = new TextDecoder()
  private readonly splitter = new JsonLines(undefined, valueTooLarge)
  /** Lines received and not yet taken, from `at` on, and their characters. */
  private lines: string[] = []
  private at = 0
  private unread = 0
  private closed = false
  private fdOpen = true
  private paused = false
  /** A `next()` waiting for data or the end. */
  private wake: (() => void) | undefined
  private writing: Promise<void> = Promise.resolve()
  /** Sends chained on `writing` and not yet done. */
  private queued = 0

  /**
   * The fd read as a socket of the event loop, its data handed over in a callback: one read
   * per arrival and no promise per chunk (a stream reader of the fd made three reads and two
   * re-arms of the poll per cell, and a promise per chunk). Bun owns the fd from here on.
   */
  private constructor(private readonly fd: number) {}

  private socket: Bun.Socket<undefined> | undefined

  static async open(fd: number): Promise<LineChannel> {
    const channel = new LineChannel(fd)
    const options: Bun.FdSocketOptions<undefined> = {
      fd,
      socket: {
        data: (_socket, chunk) => channel.received(chunk),
        end: () => channel.ended(),
        error: () => channel.ended(),
        close: () => {
          channel.fdOpen = false
          channel.ended()
        },
      },
    }
    // Bun takes an fd here (its typings declare FdSocketOptions but list no overload for it).
    channel.socket = await Bun.connect(options as unknown as Bun.UnixSocketOptions<undefined>)
    return channel
  }

  private received(chunk: Uint8Array): void {
    // Each chunk searched once (JsonLines): a long line appended to and searched again per
    // chunk was quadratic.
    const got = this.splitter.push(this.decoder.decode(chunk, { stream: true }))
    if (got.length === 0) return
    if (this.at === this.lines.length) {
      this.lines = got
      this.at = 0
    } else for (const line of got) this.lines.push(line)
    for (const line of got) this.unread += line.length
    // Backpressure: a reader that lags (its journal is full) stops us reading, and the
    // interpreter blocks on its writes, as it did when the fd was read on demand.
    if (this.unread > MAX_UNREAD && !this.paused) {
      this.paused = true
      this.socket?.pause()
    }
    this.notify()
  }

  /** The other side is gone (end of stream, error, or the socket closed). */
  private ended(): void {
    this.closed = true
    this.notify()
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /**
   * A message that has arrived already, without a promise, or undefined when none has: the
   * driver sends a cell's tail (its value, count and `done`) in one write, read in one chunk.
   */
  take(): Record<string, any> | undefined {
    for (;;) {
      const line = this.at < this.lines.length ? this.lines[this.at++] : undefined
      if (line === undefined) {
        this.lines = []
        this.at = 0
        if (this.paused) {
          this.paused = false
          this.socket?.resume()
        }
        return undefined
      }
      this.unread -= line.length
      if (this.paused && this.unread <= MAX_UNREAD / 2) {
        this.paused = false
        this.socket?.resume()
      }
      if (!line.trim()) continue
      try {
        return JSON.parse(line)
      } catch {
        continue // a torn line (interpreter killed mid-write) is not a message
      }
    }
  }

  /** The next message, or undefined once the other side has closed (or died). */
  async next(): Promise<Record<string, any> | undefined> {
    for (;;) {
      const taken = this.take()
      if (taken) return taken
      if (this.closed) return undefined
      await new Promise<void>(r => (this.wake = r))
    }
  }

  /**
   * Sends one message; writes are serialised and retried while the socket buffer is full. With
   * none waiting it is written at once, before anything else the caller's tick does: a cell's
   * code then reaches the interpreter before execd sets up the response it will fill.
   */
  send(message: unknown): Promise<void> {
    const data = Buffer.from(`${JSON.stringify(message)}\n`)
    let offset = 0
    if (this.queued === 0 && !this.closed) {
      try {
        offset = writeSync(this.fd, data)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return Promise.reject(err)
      }
      if (offset === data.length) return Promise.resolve()
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

  /** Closes our end (the socket closes the fd; Bun does not close extra stdio fds). Idempotent. */
  close(): void {
    this.closed = true
    this.notify()
    if (!this.fdOpen) return
    this.fdOpen = false
    this.socket?.terminate()
  }
}
