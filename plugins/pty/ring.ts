/**
 * The replay buffer of a PTY session: the last `capacity` bytes of output, addressed by
 * absolute offsets that only grow, so a client that reconnects with `since` gets exactly
 * what it missed (or, when that has been overwritten, everything still retained).
 */
const RING_CAPACITY = 1 << 20

export class ReplayRing {
  /** Allocated on the first byte: sessions that never produce output cost nothing. */
  private buf: Uint8Array | null = null
  private written = 0

  constructor(readonly capacity = RING_CAPACITY) {}

  /** Total bytes ever appended: the offset of the next byte. */
  get total(): number {
    return this.written
  }

  /** Offset of the oldest byte still retained. */
  get oldest(): number {
    return Math.max(0, this.written - this.capacity)
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.buf ??= new Uint8Array(this.capacity)
    // Only the tail of an oversized chunk can survive.
    const keep = bytes.length > this.capacity ? bytes.subarray(bytes.length - this.capacity) : bytes
    this.written += bytes.length - keep.length
    let pos = this.written % this.capacity
    const first = Math.min(keep.length, this.capacity - pos)
    this.buf.set(keep.subarray(0, first), pos)
    if (first < keep.length) this.buf.set(keep.subarray(first), 0)
    this.written += keep.length
  }

  /** Retained bytes at or after `since` (clamped to the oldest), with their start offset; null when none. */
  readFrom(since: number): { offset: number; bytes: Uint8Array } | null {
    const start = Math.max(this.oldest, Math.floor(since) || 0)
    if (!this.buf || start >= this.written) return null
    const out = new Uint8Array(this.written - start)
    const pos = start % this.capacity
    const first = Math.min(out.length, this.capacity - pos)
    out.set(this.buf.subarray(pos, pos + first))
    if (first < out.length) out.set(this.buf.subarray(0, out.length - first), first)
    return { offset: start, bytes: out }
  }

  /** Frees the memory; offsets keep counting if more is appended. */
  release(): void {
    this.buf = null
  }
}
