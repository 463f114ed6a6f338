/**
 * Buffers of one size, at most `max` of them at once, shared by whoever takes them in turn: what
 * they cost is bounded by the pool, not by how many callers want one. A taker waits (first come,
 * first served) while all are out. Buffers given back stay for the next taker, and are let go
 * once none has been out for a second (an idle daemon holds none).
 */
const IDLE_MS = 1000

export class BufferPool {
  private readonly free: Buffer[] = []
  private readonly waiting: ((buffer: Buffer) => void)[] = []
  private made = 0
  private trim: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly size: number,
    readonly max: number,
  ) {}

  /** A buffer, when one is free. */
  take(): Promise<Buffer> {
    const buffer = this.tryTake()
    return buffer ? Promise.resolve(buffer) : new Promise(resolve => this.waiting.push(resolve))
  }

  /** A buffer if one is free now (none is waited for). */
  tryTake(): Buffer | undefined {
    if (this.waiting.length > 0) return undefined
    const buffer = this.free.pop()
    if (buffer) return buffer
    if (this.made >= this.max) return undefined
    this.made++
    return Buffer.allocUnsafe(this.size)
  }

  give(buffer: Buffer): void {
    const next = this.waiting.shift()
    if (next) return next(buffer)
    this.free.push(buffer)
    if (this.free.length < this.made) return
    clearTimeout(this.trim)
    this.trim = setTimeout(() => {
      if (this.free.length < this.made) return
      this.made -= this.free.length
      this.free.length = 0
    }, IDLE_MS)
    this.trim.unref?.()
  }

  /** Buffers out now and kept free (for tests). */
  counts(): { out: number; free: number } {
    return { out: this.made - this.free.length, free: this.free.length }
  }
}
