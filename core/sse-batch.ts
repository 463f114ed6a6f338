/**
 * The flood path of the SSE writer: frames that are ready together go out as one chunk, and
 * the garbage a flood makes is collected at a pace set by the bytes sent.
 */
import { copyBytes } from './byte-ring'
import { OutputBytes, outputLineHead, outputLineTail } from './events'
import { OutputFrames } from './output-frames'
import { partBytes, type EncodedPart } from './encoded-part'

/** A batched chunk stops growing past this many bytes. */
const BATCH_BYTES = 64 * 1024
/**
 * A run of frames that fills a batch alone, and starts one, is sent from the journal
 * (`addFrames`): it went out in a write of its own anyway. A smaller one is copied, so that what
 * follows it still goes in the same write: lent from 16 KiB, a quiet flood's sends per MiB went
 * from 14.5 to 17.6 (each read's run alone, where two had shared a write).
 */
const LEND_FROM = BATCH_BYTES

/**
 * Frames of one chunk, written as they come into a reused scratch buffer, and from there handed
 * to the socket (`writeTo`) or copied out at their exact size (`take`): no per-frame arrays and
 * no fresh buffer per chunk (a flood's garbage is what sets execd's peak memory and, through
 * the allocator handing pages back and faulting them in again, most of its CPU). A line's bytes
 * are copied at once: a journal only lends them until its reader asks for the next event.
 */
export class FrameBatch {
  private buf: Buffer
  private used = 0
  /** Of `bytes`, those of a journal's runs of frames (see collectAfterFlood). */
  private runs = 0
  /**
   * A journal's run of frames that came first, sent from where it lies rather than copied in:
   * the batch's first bytes (`buf` follows). The journal keeps its bytes until its reader asks
   * for the next event, which a full batch does not before it is written.
   */
  private lent: Uint8Array | undefined

  /**
   * @param joins whether runs that lie one after the other in the journal's ring are lent as
   *   one view, from the first run on whatever its size: the ring frames a flood's reads back
   *   to back, and each run under a batch was copied into the scratch before (a pass over those
   *   bytes the framing floor does not make). Only for a batch written in the same tick as it
   *   is filled (SseWriter.pull): the journal keeps only the run its reader holds last, so the
   *   runs before it in the view are its until the producer appends again.
   */
  constructor(
    first: string[],
    private joins = false,
  ) {
    this.buf = scratch.pop() ?? Buffer.allocUnsafe(SCRATCH_BYTES)
    this.add(first)
  }

  /** From now on a run lent is lent alone (the batch waits for more: the producer may run). */
  joinNoMore(): void {
    this.joins = false
  }

  /** Whether the batch holds a journal's bytes it lends: to be written before the producer runs. */
  get lends(): boolean {
    return this.lent !== undefined
  }

  get bytes(): number {
    return this.used + (this.lent?.length ?? 0)
  }

  get runBytes(): number {
    return this.runs
  }

  /** Big enough to send: one chunk per event cost a socket write and a stream round trip each. */
  get full(): boolean {
    return this.bytes >= BATCH_BYTES || this.bulk !== undefined || (this.lent !== undefined && !this.joins)
  }

  /** A frame's JSON bulk that follows the batch's bytes rather than being copied into them. */
  private bulk: Bulk | undefined

  /**
   * An event's frame around JSON bytes it already has (`EncodedEvent`): `id: <id>\ndata: <head>`,
   * the bytes, `<tail>\n\n`. Bytes past a batch are not copied in: they end the batch, and the
   * writer sends them from where they lie, a slice at a time (`takeBulk`).
   */
  addEncoded(id: number, head: string, parts: EncodedPart[], size: number, tail: string): void {
    this.add([`id: ${id}\ndata: ${head}`])
    if (size > BATCH_BYTES) {
      this.bulk = { parts, tail: ascii(`${tail}\n\n`) }
      return
    }
    this.reserve(size)
    // (a spilled part is always past a batch: core/spilled-bytes.ts's values are large)
    for (const p of parts) {
      const part = partBytes(p)
      this.buf.set(part, this.used)
      this.used += part.length
    }
    this.add([`${tail}\n\n`])
  }

  /** The bulk that follows the batch's bytes, now the caller's to send after them. */
  takeBulk(): Bulk | undefined {
    const bulk = this.bulk
    this.bulk = undefined
    return bulk
  }

  /** A frame in pieces (an output line's text is one of its own, encoded where it lies). */
  add(frame: string[]): void {
    if (this.lent && frame.length > 0) this.unlend()
    for (const part of frame) {
      // Three bytes a unit at most; a long text is measured rather than over-reserved.
      this.reserve(part.length < 4096 ? part.length * 3 : Buffer.byteLength(part, 'utf8'))
      this.used += this.buf.write(part, this.used, 'utf8')
    }
  }

  /**
   * An output line's frame, `id: <id>\ndata: <head><bytes><tail>\n\n`, written as bytes: no
   * frame string nor parts array per line (a flood's lines are nearly all its frames). Head
   * and tail are ASCII, and the same strings line after line: their bytes are kept.
   */
  addLine(id: number, head: string, source: Uint8Array, start: number, end: number, tail: string): void {
    if (this.lent) this.unlend()
    const front = headBytes(head)
    if (tail !== lastTail) {
      lastTail = tail
      lastTailBytes = ascii(`${tail}\n\n`)
    }
    const back = lastTailBytes
    this.reserve(ID_BYTES.length + 16 + front.length + (end - start) + back.length)
    const buf = this.buf
    let at = this.used
    buf.set(ID_BYTES, at)
    at += ID_BYTES.length
    // the id's decimal digits, written in place
    let digits = 1
    for (let n = id; n >= 10; n = Math.floor(n / 10)) digits++
    for (let n = id, k = at + digits - 1; k >= at; k--, n = Math.floor(n / 10)) buf[k] = 48 + (n % 10)
    at += digits
    buf.set(front, at)
    at += front.length
    // copied natively from where it lies: no view of the line is made
    at += copyBytes.call(source, buf, at, start, end)
    buf.set(back, at)
    this.used = at + back.length
  }

  /**
   * Frames already made (a journal's run of output lines, core/output-frames.ts): a run that
   * fills the batch alone and comes first is lent (a view), any other copied in one piece. The
   * copy was a pass over every byte of a flood that the framing floor does not make.
   */
  addFrames(source: Uint8Array, start: number, end: number): void {
    const lent = this.lent
    if (this.used === 0 && this.bulk === undefined) {
      if (lent === undefined && (this.joins || end - start >= LEND_FROM)) {
        this.lent = source.subarray(start, end)
        this.runs += end - start
        return
      }
      // the next run where the last ended, in the same buffer: the view grows over it
      if (
        lent &&
        this.joins &&
        lent.buffer === source.buffer &&
        lent.byteOffset + lent.length === source.byteOffset + start
      ) {
        this.lent = new Uint8Array(lent.buffer, lent.byteOffset, lent.length + end - start)
        this.runs += end - start
        return
      }
    }
    if (lent) this.unlend()
    this.reserve(end - start)
    const n = copyBytes.call(source, this.buf, this.used, start, end)
    this.used += n
    this.runs += n
  }

  /** An output line kept as bytes, or a run of them framed already; returns the (last) id. */
  addOutput(x: OutputBytes | OutputFrames): number {
    if (x instanceof OutputFrames) this.addFrames(x.source, x.start, x.end)
    else this.addLine(x.id, outputLineHead(x.type), x.source, x.start, x.end, outputLineTail(x.timestamp))
    return x.id
  }

  /**
   * Hands the chunk to `write` where it lies, then the scratch goes back for the next batch:
   * `write` must be done with the bytes when it returns (a direct stream's write copies what
   * the socket does not take at once, and its promise is only the backpressure).
   */
  writeTo<T>(write: (chunk: Uint8Array) => T): T {
    const lent = this.lent
    let written = lent && write(lent)
    if (!lent || this.used > 0) written = write(this.buf.subarray(0, this.used))
    this.recycle()
    return written as T
  }

  /** The chunk (its bulk included), in a buffer of its own; the scratch goes back for the next batch. */
  take(): Uint8Array {
    const bulk = this.takeBulk()
    const lent = this.lent ? [this.lent] : []
    const out = Buffer.concat([
      ...lent,
      this.buf.subarray(0, this.used),
      ...(bulk ? [...bulk.parts.map(partBytes), bulk.tail] : []),
    ])
    this.recycle()
    return out
  }

  /**
   * The lent bytes copied into the scratch, which what follows them joins: a batch stays one
   * write. As every run was copied before runs were lent.
   */
  private unlend(): void {
    // (nothing is in the scratch yet: what comes after the lent bytes unlends them first)
    const lent = this.lent!
    this.lent = undefined
    this.reserve(lent.length)
    this.buf.set(lent, 0)
    this.used = lent.length
  }

  private recycle(): void {
    if (this.buf.length === SCRATCH_BYTES && scratch.length < SCRATCH_KEPT) scratch.push(this.buf)
    this.buf = EMPTY
    this.used = 0
    this.runs = 0
    this.lent = undefined
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n))
    this.buf.copy(bigger, 0, 0, this.used)
    this.buf = bigger
  }
}

/** Bytes a frame ends with that it had already (sent by reference, in slices: a journal keeps them until its reader asks for more), then its tail. */
export interface Bulk {
  parts: EncodedPart[]
  tail: Uint8Array
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1')
const ID_BYTES = ascii('id: ')
/** `\ndata: ` and a line head after it, as bytes, per head (one per output stream). */
const heads = new Map<string, Uint8Array>()
function headBytes(head: string): Uint8Array {
  let bytes = heads.get(head)
  if (!bytes) heads.set(head, (bytes = ascii(`\ndata: ${head}`)))
  return bytes
}
/** The last tail (it changes once a millisecond) and its bytes with the frame's end. */
let lastTail = ''
let lastTailBytes: Uint8Array = new Uint8Array(0)

/** A full batch and its last frame (a long line) fit without growing, mostly. */
const SCRATCH_BYTES = 4 * BATCH_BYTES
/** Scratch buffers kept between batches: one per stream being written at the same time. */
const SCRATCH_KEPT = 4
const scratch: Buffer[] = []
const EMPTY = Buffer.alloc(0)

/** One frame's bytes, alone in its chunk. */
export const encodeFrame = (frame: string[]): Uint8Array => new FrameBatch(frame).take()

/**
 * A flood makes garbage per byte sent, and the collector, paced by time as much as by
 * allocation, lets it pile up to tens of MiB at full speed (row 4b: 172 MiB peak at 274 MiB/s
 * when lines were decoded text). A synchronous collection after so many bytes streamed (all
 * streams together) bounds it. Since lines stay bytes (per 1 KiB line a few small objects,
 * no text, no fresh buffers), 256 MiB floods measured (CPU per MiB, peak RSS): every 32 MiB
 * 20.2-20.6 ms, 71-76 MiB; every 64 MiB 17.2-17.8 ms, 77-81 MiB; never 11.5-17.2 ms, 86-88
 * MiB. `Bun.gc(false)` (a hint) changed nothing in the earlier round.
 * A command's output now comes as the journal's runs of frames (core/output-frames.ts): a few
 * objects per 64 KiB, the heap 6-7 MiB after each collection, yet each one held the loop 6-26
 * ms for ~8 ms of CPU, 17 per GiB. Those bytes count a quarter: a collection every 256 MiB of
 * runs, still every 64 MiB of other events (a python cell's lines are strings; every 256 MiB
 * let its flood peak 156-168 MiB against 145-148).
 */
let streamedSinceGc = 0
const GC_EVERY_BYTES = 64 * 1024 * 1024

/**
 * Counts a batch sent, `runs` of its bytes a journal's runs of frames; collects once enough
 * has been streamed since the last collection.
 */
export function collectAfterFlood(bytes: number, runs = 0): void {
  streamedSinceGc += bytes - runs + runs / 4
  if (streamedSinceGc < GC_EVERY_BYTES) return
  streamedSinceGc = 0
  Bun.gc(true)
}
