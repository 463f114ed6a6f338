/**
 * Finds a live bash run's end marker in one output stream, across chunk boundaries, without
 * holding back output that cannot be part of the marker (a prompt without a newline shows at
 * once). The stdout marker is followed by `:<status>\n`.
 */
export class MarkerScanner {
  found = false
  status: number | undefined
  /** Bytes after the marker (a background job's output): they belong to the next run. */
  rest: Buffer = Buffer.alloc(0)
  private readonly marker: Buffer
  private buf: Buffer = Buffer.alloc(0)
  private out: Buffer[] = []
  private inStatus = false

  constructor(
    marker: string,
    private readonly withStatus: boolean,
  ) {
    this.marker = Buffer.from(marker)
  }

  feed(data: Uint8Array): void {
    if (this.found) {
      this.rest = Buffer.concat([this.rest, data])
      return
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data)
    if (this.inStatus) return this.readStatus()
    const at = this.buf.indexOf(this.marker)
    if (at >= 0) {
      if (at > 0) this.out.push(this.buf.subarray(0, at))
      this.buf = this.buf.subarray(at + this.marker.length)
      if (!this.withStatus) return this.finish(this.buf)
      this.inStatus = true
      return this.readStatus()
    }
    const keep = this.partialMarkerLength()
    if (this.buf.length > keep) this.out.push(this.buf.subarray(0, this.buf.length - keep))
    this.buf = this.buf.subarray(this.buf.length - keep)
  }

  /** Output ready to hand on, if any. */
  take(): Uint8Array | undefined {
    if (!this.out.length) return undefined
    const data = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out)
    this.out = []
    return data
  }

  /** The stream ended without a marker: everything held back is output. */
  flush(): void {
    if (this.buf.length && !this.found) this.out.push(this.buf)
    this.buf = Buffer.alloc(0)
  }

  private readStatus(): void {
    const nl = this.buf.indexOf(10)
    if (nl < 0) return
    const text = this.buf.subarray(0, nl).toString()
    this.status = Number(text.replace(/^:/, '')) || 0
    this.finish(this.buf.subarray(nl + 1))
  }

  private finish(rest: Buffer): void {
    this.found = true
    this.rest = Buffer.from(rest)
    this.buf = Buffer.alloc(0)
  }

  /** Length of the longest suffix of buf that is a proper prefix of the marker. */
  private partialMarkerLength(): number {
    const max = Math.min(this.buf.length, this.marker.length - 1)
    for (let n = max; n > 0; n--) {
      if (this.buf.subarray(this.buf.length - n).equals(this.marker.subarray(0, n))) return n
    }
    return 0
  }
}
