/**
 * The flood path of the SSE writer: frames that are ready together go out as one chunk, and
 * the garbage a flood makes is collected at a pace set by the bytes sent.
 */

const encoder = new TextEncoder()
/** A batched chunk stops growing past this many bytes. */
const BATCH_BYTES = 64 * 1024
/** A full batch's buffer: the last frame added may pass BATCH_BYTES. */
const FULL_BUFFER = BATCH_BYTES + 16 * 1024

/**
 * Frames of one chunk, encoded straight into one buffer (no per-frame arrays: a flood's
 * garbage is what sets execd's peak memory). A frame comes in pieces (an output line's text is
 * a piece of its own, encoded where it lies). A lone frame is encoded on its own, exact size.
 */
export class FrameBatch {
  private first: string[] | undefined
  private buf: Uint8Array | undefined
  private used = 0

  constructor(first: string[]) {
    this.first = first
  }

  get bytes(): number {
    return this.buf ? this.used : partsLength(this.first!)
  }

  /** Big enough to send: one chunk per event cost a socket write and a stream round trip each. */
  get full(): boolean {
    return this.bytes >= BATCH_BYTES
  }

  add(frame: string[]): void {
    if (!this.buf) {
      // Sized for what is here, not for a full batch: a cell's few small frames allocated (and
      // zeroed) 80 KiB per batch, 5% of a warm cell's CPU. A batch that outgrows it goes
      // straight to full size (see put).
      this.buf = new Uint8Array(Math.min(BATCH_BYTES, 3 * (this.bytes + partsLength(frame))) + 1024)
      for (const part of this.first!) this.put(part)
      this.first = undefined
    }
    for (const part of frame) this.put(part)
  }

  take(): Uint8Array {
    return this.buf ? this.buf.subarray(0, this.used) : encoder.encode(this.first!.join(''))
  }

  private put(part: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const need = this.used + part.length * 3
    if (need > this.buf!.length) {
      // One step to a full batch's size, not doubling there: every step is a fresh buffer
      // page-faulted in and a copy, and a flood's batches all fill up.
      const bigger = new Uint8Array(Math.max(need, this.buf!.length * 2, FULL_BUFFER))
      bigger.set(this.buf!.subarray(0, this.used))
      this.buf = bigger
    }
    this.used += encoder.encodeInto(part, this.buf!.subarray(this.used)).written
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
