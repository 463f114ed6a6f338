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

/** A run's frames stop growing past this many bytes (one batch's worth). */
export const RUN_BYTES = 64 * 1024
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

/** An id's decimal digits while a run is framed (ids are below 2^53: 16 digits). */
const DIGITS = new Uint8Array(16).fill(48)

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
  let w = start
  // The ids' digits, right-aligned, counted up in place: consecutive ids, no division per line.
  let digits = digitsOf(first)
  DIGITS.fill(48)
  for (let n = first, d = DIGITS.length - 1; n > 0; d--, n = Math.floor(n / 10)) DIGITS[d] = 48 + (n % 10)
  for (let k = 0; k < count; k++) {
    if (k > 0) {
      let d = DIGITS.length - 1
      while (DIGITS[d] === 57) DIGITS[d--] = 48
      DIGITS[d]!++
      if (d < DIGITS.length - digits) digits++
    }
    at[k * 2] = w
    buf[w] = 0x69 // i
    buf[w + 1] = 0x64 // d
    buf[w + 2] = 0x3a // :
    buf[w + 3] = 0x20 // space
    w += 4
    for (let d = DIGITS.length - digits; d < DIGITS.length; d++) buf[w++] = DIGITS[d]!
    buf.set(head, w)
    w += head.length
    at[k * 2 + 1] = w
    w += copyBytes.call(source, buf, w, lines[from + k * 2] as number, lines[from + k * 2 + 1] as number)
    buf.set(tail, w)
    w += tail.length
  }
  at[count * 2] = w
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
