/**
 * The bytes of a journal's output lines, oldest first, in one buffer reused round and round:
 * a flood's lines are copied in and framed out of warm memory instead of each chunk's
 * text being allocated and collected. Lines leave in the order they came (the journal drops
 * its oldest), so the free room is the stretch from the newest line to the oldest. Grows from
 * small (most commands print little) to its maximum; a line that does not fit is the caller's
 * to copy elsewhere.
 */
export class ByteRing {
  private buf = new Uint8Array(0)
  /** Where the next line goes. */
  private write = 0
  /** Where the oldest line still held starts. */
  private read = 0
  /** The newest lines start again at 0, before the oldest ones. */
  private wrapped = false
  private live = 0

  constructor(private readonly max: number) {}

  /** A copy of `data` in the ring, or undefined when there is no room. */
  copy(data: Uint8Array): Uint8Array | undefined {
    const n = data.length
    if (n > this.max / 8) return undefined
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
    if (at < 0) return undefined
    this.buf.set(data, at)
    this.write = at + n
    this.live++
    return this.buf.subarray(at, at + n)
  }

  holds(view: Uint8Array): boolean {
    return view.buffer === this.buf.buffer
  }

  /** Gives back the oldest line's room (lines are freed in the order they were copied). */
  free(view: Uint8Array): void {
    if (!this.holds(view)) return
    this.live--
    // The first line after the wrap: the oldest ones are gone.
    if (this.wrapped && view.byteOffset < this.read) this.wrapped = false
    this.read = view.byteOffset + view.length
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
