/**
 * JSON lines over the socketpair fd a runtime's interpreter gets as fd 3 (spawnOwned's
 * extraFds): execd's protocol channel, apart from the user's stdout/stderr.
 */
import { isUtf8 } from 'node:buffer'
import { EncodedEvent, isPlainObject } from '../../core/events'
import { JsonLines, StringsJson } from '../../core/json-lines'
import { SpilledFile } from '../../core/spilled-bytes'
import { Utf8Pieces } from '../../core/utf8-pieces'
import {
  aliased,
  aliasOf,
  dropped,
  isMessage,
  MAX_LINE_CHARS,
  MAX_MESSAGE_BYTES,
  RAW_HEAD,
  RAW_TYPES,
  SPILL_FROM,
  tooLarge,
} from './channel-messages'
import { ChannelWrites } from '../../core/channel-writes'
import { openFdSocket } from '../../core/fd-socket'
import { MAX_MESSAGE_DEPTH, nestedDeeperThan } from '../../core/json-depth'

/**
 * Characters of whole lines received and not yet taken past which the socket stops being read
 * (the interpreter then blocks on its writes). A line still without its newline does not count:
 * only its newline lets it be taken, so it must be read (JsonLines bounds it).
 */
const MAX_UNREAD = 256 * 1024

/** A bulk message being received. */
interface Bulk {
  type: 'stdout' | 'stderr' | 'result'
  /** Its payload (empty when it is over the limit and skipped). */
  data: Uint8Array
  filled: number
  /** Bytes still to come, its newline included. */
  left: number
  check: StringsJson
  size: number
  /** A result's: the length of its text/plain's JSON, which is its `text`'s too (0: none). */
  alias: number
  /** A large result's file, which takes its payload instead of `data` (SPILL_FROM). */
  spill?: SpilledFile
  /** Its spill's UTF-8 check, as the bytes come (`data` is checked whole). */
  utf8?: Utf8Pieces
  /** Why it is dropped though under the limit (no room to spill it), in an error's words. */
  refused?: string
  /** Its spill found it no UTF-8: no message, as any malformed bulk. */
  malformed?: boolean
}

type Item = string | Record<string, any>

export class LineChannel {
  private readonly decoder = new TextDecoder()
  private readonly splitter = new JsonLines(MAX_LINE_CHARS, chars => (this.droppedChars = chars))
  /** A line the splitter dropped for its length while reading the last bytes. */
  private droppedChars = 0
  /** Lines (or whole messages) received and not yet taken, from `at` on, and their characters. */
  private lines: Item[] = []
  private at = 0
  private unread = 0
  private closed = false
  private fdOpen = true
  private paused = false
  /** A `next()` waiting for data or the end. */
  private wake: (() => void) | undefined
  private readonly writes: ChannelWrites

  /** The fd is read as a socket of the event loop (core/fd-socket.ts): Bun owns it from here on. */
  private constructor(fd: number) {
    this.writes = new ChannelWrites(fd)
  }

  private socket: Bun.Socket<undefined> | undefined

  static async open(fd: number): Promise<LineChannel> {
    const channel = new LineChannel(fd)
    channel.socket = await openFdSocket(fd, {
      data: (_socket, chunk) => channel.received(chunk),
      end: () => channel.ended(),
      close: () => {
        channel.fdOpen = false
        channel.ended()
      },
    })
    return channel
  }

  /** The bulk message being received, if one is. */
  private bulk: Bulk | undefined
  /** A bulk header read as a line: the type of the message whose payload is the next line. */
  private splitType: 'stdout' | 'stderr' | 'result' | undefined
  /** That split header's result names its text/plain as its `text` too. */
  private splitAlias = false
  /** The bytes given to the line splitter so far end a line. */
  private atLineStart = true

  private received(data: Uint8Array): void {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length)
    for (let at = 0; at < chunk.length;) {
      if (this.bulk) {
        at = this.fill(this.bulk, chunk, at)
        continue
      }
      const head = this.rawHead(chunk, at)
      if (head < 0) {
        this.textIn(at === 0 ? chunk : chunk.subarray(at))
        break
      }
      if (head > at) this.textIn(chunk.subarray(at, head))
      at = this.beginBulk(chunk, head)
    }
  }

  /** Bytes of lines: each chunk searched once (JsonLines; appending to a string was quadratic). */
  private textIn(bytes: Uint8Array): void {
    this.atLineStart = bytes[bytes.length - 1] === 0x0a
    const got = this.splitter.push(this.decoder.decode(bytes, { stream: true }))
    let size = 0
    for (const line of got) size += line.length
    if (got.length > 0) this.queue(got, size)
    if (this.droppedChars > 0) {
      this.queue([tooLarge(this.droppedChars, `${MAX_LINE_CHARS >> 20} Mi characters`)], 0)
      this.droppedChars = 0
    }
  }

  /**
   * Where a bulk message's header starts at a line start, with its newline in this chunk; -1
   * if none does. A header split across chunks is read as a line like any other, and its
   * payload after it (take() then parses both: slower, the same event).
   */
  private rawHead(chunk: Buffer, from: number): number {
    for (let i = chunk.indexOf(RAW_HEAD, from); i >= 0; i = chunk.indexOf(RAW_HEAD, i + 1)) {
      if (i === from ? !this.atLineStart : chunk[i - 1] !== 0x0a) continue
      return chunk.indexOf(0x0a, i) < 0 ? -1 : i
    }
    return -1
  }

  /** Reads the header at `head`; returns where its payload starts. */
  private beginBulk(chunk: Buffer, head: number): number {
    const nl = chunk.indexOf(0x0a, head)
    let header: { raw?: unknown; type?: unknown; alias?: unknown } | undefined
    try {
      header = JSON.parse(chunk.toString('latin1', head, nl))
    } catch {}
    const size = header?.raw
    const type = header?.type
    const alias = aliasOf(header?.alias, type, size)
    if (
      typeof size !== 'number' ||
      !Number.isSafeInteger(size) ||
      size < 0 ||
      !RAW_TYPES.has(type as string) ||
      alias < 0
    ) {
      // Not ours after all: a line like any other.
      this.textIn(chunk.subarray(head, nl + 1))
      return nl + 1
    }
    // The limit is the event's, its alias counted: what it always was.
    const over = size + alias > MAX_MESSAGE_BYTES
    // Spilled, or refused for want of room: never waited for (the other contexts' clients may
    // not read), and never held in memory past SPILL_FROM while a file can be had.
    const spill = !over && type === 'result' && size >= SPILL_FROM ? SpilledFile.open(size) : undefined
    const file = spill instanceof SpilledFile ? spill : undefined
    const refused = spill && !(spill instanceof SpilledFile) ? spill.refused : undefined
    this.bulk = {
      type: type as Bulk['type'],
      data: new Uint8Array(over || spill ? 0 : size),
      spill: file,
      utf8: file && new Utf8Pieces(),
      refused,
      filled: 0,
      left: size + 1,
      check: new StringsJson(type === 'result' ? 'object' : 'string'),
      size,
      alias,
    }
    return nl + 1
  }

  /** Takes the payload's bytes from `at`; returns where the chunk goes on. */
  private fill(bulk: Bulk, chunk: Buffer, at: number): number {
    const n = Math.min(bulk.left, chunk.length - at)
    // Its bytes are checked as they come, a skipped one's too: a header announcing more than
    // follows (user code writing to fd 3) would otherwise swallow every later message, the
    // cell's `done` among them, and hang it. The driver's own lines cannot continue a JSON
    // string or object, so such a lie shows within the next message.
    const payload = chunk.subarray(at, at + Math.min(n, bulk.left - 1))
    if (!bulk.check.push(payload)) {
      this.bulk = undefined
      this.atLineStart = false
      return at // read as lines: the lie's rest is a torn line, what follows it messages
    }
    if (bulk.spill && payload.length > 0) {
      // Not UTF-8 (not the driver's) is no message; a full disk is an error saying so.
      if (!bulk.utf8!.push(payload)) bulk.malformed = true
      else bulk.refused = bulk.spill.append(payload)?.refused
      if (bulk.malformed || bulk.refused) {
        bulk.spill?.release() // its room, for the next value, now
        bulk.spill = bulk.utf8 = undefined
      }
    }
    const copy = Math.min(n, bulk.data.length - bulk.filled)
    if (copy > 0) {
      bulk.data.set(chunk.subarray(at, at + copy), bulk.filled)
      bulk.filled += copy
    }
    bulk.left -= n
    if (bulk.left > 0) return at + n
    this.bulk = undefined
    this.atLineStart = true
    if (bulk.size + bulk.alias > MAX_MESSAGE_BYTES)
      this.queue([tooLarge(bulk.size + bulk.alias, `${MAX_MESSAGE_BYTES >> 20} MiB`)], 0)
    else if (bulk.refused !== undefined && bulk.check.complete)
      this.queue([dropped(bulk.size + bulk.alias, bulk.refused)], 0)
    // Malformed (not the driver's: user code may write to fd 3) is no message, as a torn line.
    else if (bulk.check.complete && !bulk.malformed && (bulk.spill ? bulk.utf8!.complete : isUtf8(bulk.data))) {
      const payload = bulk.spill ?? bulk.data
      const json = bulk.spill ? [bulk.spill.range(0, bulk.size)] : bulk.data
      const event = bulk.alias ? aliased(payload, bulk.alias) : new EncodedEvent(bulk.type, json)
      if (event) this.queue([event], bulk.size)
    }
    return at + n
  }

  /** Queues messages for take(), `size` their characters (or bytes). */
  private queue(got: Item[], size: number): void {
    if (this.at === this.lines.length) {
      this.lines = got
      this.at = 0
    } else for (const line of got) this.lines.push(line)
    this.unread += size
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
    this.closed = this.writes.closed = true
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
      if (typeof line === 'object') {
        this.unread -= line instanceof EncodedEvent ? line.size : 0
        this.resumeIfDrained()
        return line
      }
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
      this.resumeIfDrained()
      if (!line.trim()) continue
      // A cell's own line nested past it (any message, not only a result: a stdout's extra member
      // 50,000 deep held the event loop 6 s and failed its request) is dropped unparsed, a split
      // value's header with it: JSON.stringify recurses where the event is framed.
      if (nestedDeeperThan(line, MAX_MESSAGE_DEPTH)) {
        this.splitType = undefined
        this.splitAlias = false
        continue
      }
      let msg: any
      try {
        msg = JSON.parse(line)
      } catch {
        continue // a torn line (interpreter killed mid-write) is not a message
      }
      // A bulk header that came split across chunks, read as a line: its payload is the next
      // line (the same event, parsed).
      const split = this.splitType
      const splitAlias = this.splitAlias
      this.splitType = undefined
      this.splitAlias = false
      if (split === 'result' && isPlainObject(msg)) {
        if (splitAlias && typeof msg['text/plain'] === 'string') msg.text = msg['text/plain']
        return { type: split, results: msg }
      }
      if (split && split !== 'result' && typeof msg === 'string') return { type: split, text: msg }
      if (split) continue
      // A cell can write to fd 3 too: a line `null` ended its cell with execd's own TypeError
      // ("null is not an object (evaluating 't.raw')"); a stdout whose text was an object, a
      // result whose results were a string, an error without its object reached the wire.
      if (!isPlainObject(msg as unknown)) continue
      if (typeof msg.raw === 'number' && RAW_TYPES.has(msg.type)) {
        this.splitType = msg.type
        this.splitAlias = msg.type === 'result' && typeof msg.alias === 'number'
        continue
      }
      if (!isMessage(msg)) continue
      return msg
    }
  }

  private resumeIfDrained(): void {
    if (this.paused && this.unread <= MAX_UNREAD / 2) {
      this.paused = false
      this.socket?.resume()
    }
  }

  /**
   * Settles once more has arrived or the channel has closed; undefined when it has closed
   * already. For a reader that `take()`s: one promise per wait, no async layer around it.
   */
  arrival(): Promise<void> | undefined {
    if (this.closed) return undefined
    return new Promise<void>(r => (this.wake = r))
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

  /** Sends one message, as `sendBytes` sends. */
  send(message: unknown): Promise<void> | undefined {
    return this.writes.write(Buffer.from(`${JSON.stringify(message)}\n`))
  }

  /** Sends `message` with the long string `long` as its member `key`, made and written in pieces. */
  sendLong(message: Record<string, unknown>, key: string, long: string): Promise<void> | undefined {
    return this.writes.writeJsonLine(message, key, long)
  }

  /**
   * Sends bytes as they are (the compiled driver, before any message; a cell's code), in turn
   * with every other send; undefined when they were written whole at once (core/channel-writes.ts).
   */
  sendBytes(data: Uint8Array): Promise<void> | undefined {
    return this.writes.write(data)
  }

  /** Closes our end (the socket closes the fd; Bun does not close extra stdio fds). Idempotent. */
  close(): void {
    this.closed = this.writes.closed = true
    this.notify()
    if (!this.fdOpen) return
    this.fdOpen = false
    this.socket?.terminate()
  }
}
