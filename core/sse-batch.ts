/**
 * The flood path of the SSE writer: frames that are ready together go out as one chunk, and
 * the garbage a flood makes is collected at a pace set by the bytes sent.
 */

const encoder = new TextEncoder()
/** A batched chunk stops growing past this many bytes. */
const BATCH_BYTES = 64 * 1024

/**
 * Frames of one chunk, encoded once the chunk is complete into one buffer of exactly its size
 * (no per-frame arrays: a flood's garbage is what sets execd's peak memory and, through the
 * allocator handing pages back and faulting them in again, most of its CPU). A frame comes in
 * pieces (an output line's text is a piece of its own, encoded where it lies).
 */
export class FrameBatch {
  private readonly parts: string[]
  /** UTF-16 units so far: what `full` goes by (output is mostly ASCII, one byte a unit). */
  private units: number

  constructor(first: string[]) {
    this.parts = first
    this.units = partsLength(first)
  }

  get bytes(): number {
    return this.units
  }

  /** Big enough to send: one chunk per event cost a socket write and a stream round trip each. */
  get full(): boolean {
    return this.units >= BATCH_BYTES
  }

  add(frame: string[]): void {
    for (const part of frame) {
      this.parts.push(part)
      this.units += part.length
    }
  }

  /**
   * The chunk. Sized first, then encoded: a buffer sized by a guess (three bytes a unit, or a
   * full batch plus room) allocated and zeroed a quarter more than was sent, and a batch that
   * outgrew its first buffer was allocated twice.
   */
  take(): Uint8Array {
    let size = 0
    for (const part of this.parts) size += Buffer.byteLength(part, 'utf8')
    // Not zeroed: every byte is written below (and checked).
    const buf = Buffer.allocUnsafe(size)
    let used = 0
    for (const part of this.parts) used += buf.write(part, used, 'utf8')
    return used === size ? buf : encoder.encode(this.parts.join(''))
  }
}

const partsLength = (parts: string[]): number => parts.reduce((n, p) => n + p.length, 0)

/** One frame's bytes, alone in its chunk. */
export const encodeFrame = (frame: string[]): Uint8Array => new FrameBatch(frame).take()

/**
 * A flood makes a few bytes of garbage per byte sent (pipe chunks, decoded text, buffers), and
 * the collector, paced by time as much as by allocation, lets it pile up to tens of MiB at
 * full speed (row 4b: 172 MiB peak at 274 MiB/s). A synchronous collection after every
 * 32 MiB streamed (all streams together) held it at ~133 MiB for a few ms per second of flood;
 * `Bun.gc(false)` (a hint) changed nothing, and every 64 MiB was not enough.
 */
let streamedSinceGc = 0
const GC_EVERY_BYTES = 32 * 1024 * 1024

/** Counts a batch sent; collects once enough has been streamed since the last collection. */
export function collectAfterFlood(bytes: number): void {
  streamedSinceGc += bytes
  if (streamedSinceGc < GC_EVERY_BYTES) return
  streamedSinceGc = 0
  Bun.gc(true)
}
