/**
 * Clean output lines journaled as their SSE frames: a chunk's run of lines is framed once, in
 * one pass from the read into the journal's ring (`id: <id>\ndata: <head><line><tail>\n\n`,
 * frame after frame), and a reader that takes frames copies the whole run into its batch in
 * one piece. Per line that is one native copy and a few bytes written, instead of a journal
 * entry, an item, an iterator result and the frame's own copies — ~1 µs of JavaScript per
 * 1 KiB line in a flood (bench/flood-path.ts). The frames are the bytes FrameBatch.addLine
 * writes for the same line, id and timestamp.
 */
import { copyBytes, type ByteRing } from './byte-ring'
import { type ExecEvent, OutputBytes, outputLineHead, outputLineTail } from './events'
import type { OutputLine } from './lines'

/**
 * A run's frames stop growing past this many bytes: a whole 64 KiB read of 1 KiB lines is one
 * run (at 64 KiB it was two, 60 lines and 4), sent as one write from where it lies
 * (core/sse-batch.ts `addFrames`). The ring takes a run of up to an eighth of its size: 128 KiB
 * in a command's 1 MiB journal.
 */
export const RUN_BYTES = 128 * 1024
/** ... and past this many lines (a run of short lines is mostly framing). */
export const RUN_LINES = 1024

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1')

/** `\ndata: ` and the line's JSON head, per stream. */
const HEAD_BYTES = {
  stdout: ascii(`\ndata: ${outputLineHead('stdout')}`),
  stderr: ascii(`\ndata: ${outputLineHead('stderr')}`),
}
export const frameHead = (type: 'stdout' | 'stderr'): Uint8Array => HEAD_BYTES[type]

/** The line's JSON tail and the frame's end, for the last timestamp asked (it changes once a millisecond). */
let tailAt = NaN
let tailBytes: Uint8Array = new Uint8Array(0)
export function frameTail(timestamp: number): Uint8Array {
  if (timestamp !== tailAt) {
    tailAt = timestamp
    tailBytes = ascii(`${outputLineTail(timestamp)}\n\n`)
  }
  return tailBytes
}

/** Decimal digits of a positive id. */
function digitsOf(id: number): number {
  let digits = 1
  for (let n = id; n >= 10; n = Math.floor(n / 10)) digits++
  return digits
}

/** Bytes of a line's frame (`id: ` 4, the id, head, the line, tail). */
export const frameBytes = (id: number, head: number, length: number, tail: number): number =>
  4 + digitsOf(id) + head + length + tail

/**
 * Consecutive clean lines of one stream, ids `first..last`, framed one after another in
 * `source`. `at` holds, per line, where its frame starts and where its text starts, then where
 * the last frame ends: a line's text ends where the next frame starts, less the tail.
 */
export class FramedLines {
  constructor(
    readonly type: 'stdout' | 'stderr',
    public source: Uint8Array,
    readonly first: number,
    readonly last: number,
    readonly timestamp: number,
    readonly at: Int32Array,
    readonly tail: number,
  ) {}

  frameStart(id: number): number {
    return this.at[(id - this.first) * 2]!
  }

  get end(): number {
    return this.at[(this.last - this.first + 1) * 2]!
  }

  textLength(id: number): number {
    const i = (id - this.first) * 2
    return this.at[i + 2]! - this.tail - this.at[i + 1]!
  }

  /** One line as the journal's other lines are kept (for a reader that takes events one at a time). */
  line(id: number): OutputBytes {
    const i = (id - this.first) * 2
    return new OutputBytes(id, this.type, this.source, this.timestamp, this.at[i + 1]!, this.at[i + 2]! - this.tail)
  }

  /** The frames now lie in `source` at `delta` from where they were. */
  move(source: Uint8Array, delta: number): void {
    this.source = source
    for (let i = 0; i < this.at.length; i++) this.at[i] = this.at[i]! + delta
  }
}

/**
 * What lies between one line of a run and the next: the tail, `id: `, the next id's digits and
 * the head. Only the digits change from line to line, and they are counted up where they lie, so
 * a frame costs two native copies (this, then the line) and no loop over its framing bytes: the
 * head and tail were a native call each and the id a loop, ~a sixth of a flood's JavaScript.
 */
class Between {
  bytes = new Uint8Array(128)
  private head: Uint8Array = new Uint8Array(0)
  private tail: Uint8Array = new Uint8Array(0)
  /** `bytes` in use: where the head ends. */
  size = 0
  /** Where the digits start and end. */
  private from = 0
  private to = 0

  /** Made for `id`, between lines framed with `head` and `tail`. */
  set(id: number, head: Uint8Array, tail: Uint8Array): void {
    this.head = head
    this.tail = tail
    const digits = digitsOf(id)
    const size = this.tail.length + 4 + digits + this.head.length
    if (this.bytes.length < size) this.bytes = new Uint8Array(size * 2)
    const b = this.bytes
    b.set(this.tail, 0)
    this.from = this.tail.length + 4
    b.set(ID, this.from - 4)
    this.to = this.from + digits
    for (let n = id, k = this.to - 1; k >= this.from; k--, n = Math.floor(n / 10)) b[k] = 48 + (n % 10)
    b.set(this.head, this.to)
    this.size = size
  }

  /** The next id (`id`, one more than the last made). */
  next(id: number): void {
    const b = this.bytes
    let d = this.to - 1
    while (d >= this.from && b[d] === 57) b[d--] = 48
    if (d < this.from)
      this.set(id, this.head, this.tail) // one digit more
    else b[d]!++
  }
}

const ID = Uint8Array.of(0x69, 0x64, 0x3a, 0x20) // `id: `
/** One for every run: a run is framed in one go, with no await inside. */
const between = new Between()

/**
 * Frames `count` lines given as ranges in `source` (`lines[from]`, `lines[from + 1]`, ...:
 * ByteLineSplitter.pushRanges), ids from `first`, into `buf` at `start`; fills `at` as
 * FramedLines keeps it. The caller has measured the room (`frameBytes`).
 */
function writeFrames(
  buf: Uint8Array,
  start: number,
  first: number,
  head: Uint8Array,
  tail: Uint8Array,
  source: Uint8Array,
  lines: (OutputLine | number)[],
  from: number,
  count: number,
  at: Int32Array,
): void {
  const gap = between
  gap.set(first, head, tail)
  // the first frame has no tail before it
  const skip = tail.length
  at[0] = start
  let w = start + copyBytes.call(gap.bytes, buf, start, skip, gap.size)
  for (let k = 0; ;) {
    at[k * 2 + 1] = w
    w += copyBytes.call(source, buf, w, lines[from + k * 2] as number, lines[from + k * 2 + 1] as number)
    if (++k === count) break
    gap.next(first + k)
    at[k * 2] = w + skip
    w += copyBytes.call(gap.bytes, buf, w, 0, gap.size)
  }
  buf.set(tail, w)
  at[count * 2] = w + tail.length
}

/**
 * A run of `count` lines (`writeFrames`' arguments) framed into `size` bytes of `ring`, or of a
 * buffer of their own when the ring has no room (as a line is copied, in Journal.pushLine).
 */
export function frameRun(
  ring: ByteRing,
  size: number,
  type: 'stdout' | 'stderr',
  timestamp: number,
  [first, count]: [number, number],
  [head, tail]: [Uint8Array, Uint8Array],
  source: Uint8Array,
  lines: (OutputLine | number)[],
  from: number,
): FramedLines {
  let start = ring.claim(size)
  let buf = ring.buffer
  if (start < 0) [buf, start] = [new Uint8Array(size), 0]
  const at = new Int32Array(count * 2 + 1)
  writeFrames(buf, start, first, head, tail, source, lines, from, count, at)
  return new FramedLines(type, buf, first, first + count - 1, timestamp, at, tail.length)
}

/**
 * What a reader that takes frames gets for a run: its frames from one line on, whole, to be
 * copied before it asks for more (the journal may reuse the bytes then). `id` is the last line's.
 */
export class OutputFrames {
  constructor(
    readonly id: number,
    readonly source: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  /** Not one event: only a reader that asked for frames (Journal.read `frames`) gets these. */
  get event(): ExecEvent {
    throw new Error('a run of output frames is not one event')
  }
}
