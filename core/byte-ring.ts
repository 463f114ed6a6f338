/**
 * The bytes of a journal's output lines, oldest first, in one buffer reused round and round:
 * a flood's lines are copied in and framed out of warm memory instead of each chunk's
 * text being allocated and collected. Lines leave in the order they came (the journal drops
 * its oldest), so the free room is the stretch from the newest line to the oldest. Grows from
 * small (most commands print little) to its maximum; a line that does not fit is the caller's
 * to copy elsewhere.
 */
/** Copies bytes of any Uint8Array natively, with no view made for the source's range. */
export const copyBytes = Buffer.prototype.copy as (
  this: Uint8Array,
  target: Uint8Array,
  targetStart: number,
  sourceStart: number,
  sourceEnd: number,
) => number

export class ByteRing {
  private buf = new Uint8Array(0)

  /** The buffer lines are copied into now (a bigger one replaces it as the ring grows). */
  get buffer(): Uint8Array {
    return this.buf
  }
  /** Where the next line goes. */
  private write = 0
  /** Where the oldest line still held starts. */
  private read = 0
  /** The newest lines start again at 0, before the oldest ones. */
  private wrapped = false
  private live = 0

  constructor(private readonly max: number) {}

  /**
   * Copies `source[start..end]` into the ring; where it starts in `buffer` (read after the
   * call: the ring may have grown), or -1 when there is no room. No view is made: one per line
   * was a twentieth of a flood's main thread, with what collecting them cost.
   */
  copy(source: Uint8Array, start = 0, end = source.length): number {
    const at = this.claim(end - start)
    if (at >= 0) copyBytes.call(source, this.buf, at, start, end)
    return at
  }

  /**
   * Room for `n` bytes the caller writes itself (a run of frames, core/output-frames.ts), held
   * as one line: where it starts in `buffer`, or -1 when there is none.
   */
  claim(n: number): number {
    // Nothing to keep for an empty line: in the ring it would wait its turn to be freed, unbounded.
    if (n === 0 || n > this.max / 8) return -1
    if (this.live === 0) {
      this.write = this.read = 0
      this.wrapped = false
    }
    let at = this.place(n)
    if (at < 0 && this.buf.length < this.max) {
      // A bigger buffer; lines in the old one stay where they are and are not given back.
      this.buf = new Uint8Array(Math.min(this.max, Math.max(16 * 1024, this.buf.length * 4, n * 8)))
      this.write = this.read = this.live = 0
      this.wrapped = false
      at = 0
    }
    if (at < 0) return -1
    this.write = at + n
    this.live++
    return at
  }

  /** Whether `buffer` is the ring's own (not one it has outgrown). */
  holds(buffer: Uint8Array): boolean {
    return buffer === this.buf
  }

  /** Gives back the oldest line's room (lines are freed in the order they were copied). */
  free(buffer: Uint8Array, start: number, end: number): void {
    if (!this.holds(buffer)) return
    this.live--
    // The first line after the wrap: the oldest ones are gone.
    if (this.wrapped && start < this.read) this.wrapped = false
    this.read = end
  }

  private place(n: number): number {
    if (this.wrapped) return this.read - this.write >= n ? this.write : -1
    if (this.buf.length - this.write >= n) return this.write
    if (this.read >= n) {
      this.wrapped = true
      return 0
    }
    return -1
  }
}
