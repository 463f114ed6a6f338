/**
 * execd's side of the javascript driver's channel (its fd 4, a socketpair): `run` goes down it as
 * a JSON line, and the driver's `sent` and a cell's own `process.send` come back as JSON lines.
 * Read here, not by Bun's IPC reader, which held a message's bytes until a newline came whatever
 * their number: a cell's own write of 400 MB without one took execd to 512 MiB. A line is bounded
 * (core/json-lines.ts); a longer one is no message of the driver's, and `onOversize` hears of it.
 */
import { JsonLines } from '../../core/json-lines'
import { ChannelWrites } from '../../core/channel-writes'
import { openFdSocket } from '../../core/fd-socket'
import { MAX_MESSAGE_DEPTH, nestedDeeperThan } from '../../core/json-depth'

/**
 * The longest line taken, in characters: a cell's `process.send` is refused in the driver past
 * 1 Mi characters of JSON (driver.ts), a `sent` is a few dozen.
 */
export const MAX_CHANNEL_LINE = 2 << 20

export interface ChannelEvents {
  message: (m: unknown) => void
  /** A line longer than MAX_CHANNEL_LINE came: the driver can no longer be trusted to be heard. */
  oversize: () => void
  /** The other end closed (the driver exited, or a cell closed its fd 4). */
  end: () => void
}

export class DriverChannel {
  private readonly decoder = new TextDecoder()
  private readonly lines: JsonLines
  private readonly writes: ChannelWrites
  private socket: Bun.Socket<undefined> | undefined
  private fdOpen = true
  private ended = false

  private constructor(
    fd: number,
    private readonly on: ChannelEvents,
  ) {
    this.writes = new ChannelWrites(fd)
    this.lines = new JsonLines(MAX_CHANNEL_LINE, () => on.oversize())
  }

  /** Bun owns the fd from here on, as a socket of the event loop (as python's LineChannel). */
  static async open(fd: number, on: ChannelEvents): Promise<DriverChannel> {
    const channel = new DriverChannel(fd, on)
    channel.socket = await openFdSocket(fd, {
      data: (_socket, chunk) => channel.received(chunk),
      end: () => channel.end(),
      close: () => {
        channel.fdOpen = false
        channel.end()
      },
    })
    return channel
  }

  /** Each whole line's JSON to `message` at once (none is queued); a line that is not JSON is dropped. */
  private received(chunk: Uint8Array): void {
    for (const line of this.lines.push(this.decoder.decode(chunk, { stream: true }))) {
      // A cell's own line nested 50,000 deep threw where its event was framed, and execd ended.
      if (nestedDeeperThan(line, MAX_MESSAGE_DEPTH)) continue
      let m: unknown
      try {
        m = JSON.parse(line)
      } catch {
        continue // a cell's own bytes on fd 4, or a line torn by a kill: not a message
      }
      this.on.message(m)
    }
  }

  private end(): void {
    this.writes.closed = true
    if (this.ended) return
    this.ended = true
    this.on.end()
  }

  /** Sends one message as a JSON line, after any still being written; a closed channel takes nothing. */
  send(message: unknown): void {
    if (this.writes.closed) return
    void this.writes.write(Buffer.from(`${JSON.stringify(message)}\n`))?.catch(() => {})
  }

  /** Sends `message` with the long string `long` as its member `key`, made and written in pieces. */
  sendLong(message: Record<string, unknown>, key: string, long: string): void {
    if (this.writes.closed) return
    void this.writes.writeJsonLine(message, key, long)?.catch(() => {})
  }

  /** Closes our end (the socket closes the fd; Bun does not close extra stdio fds). Idempotent. */
  close(): void {
    this.writes.closed = true
    this.ended = true
    if (!this.fdOpen) return
    this.fdOpen = false
    this.socket?.terminate()
  }
}
