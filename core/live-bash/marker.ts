/**
 * Finds a live bash run's end marker in one output stream, across chunk boundaries, without
 * holding back output that cannot be part of the marker (a prompt without a newline shows at
 * once). The stdout marker is followed by `:<status>:<the shell's $->\n`. Output handed on is a view into the
 * chunk fed (no copy: the run frees the chunk once its lines are framed); what the scanner keeps
 * across chunks (a marker's beginning, the status, bytes after the marker) is copied.
 */
const EMPTY = Buffer.alloc(0)
/**
 * The shell writes `:<exit status>:<its $- flags>`, `:1` where it moved to a new input, and a
 * newline after the marker (frame.ts): 0-255, and at most the two dozen letters `set` takes.
 */
const MAX_STATUS_BYTES = 64
const STATUS = /^:(\d{1,3}):([A-Za-z]*)(:1)?$/

export class MarkerScanner {
  found = false
  status: number | undefined
  /** The shell's `$-` as the run ended (`x`: it traces). */
  flags = ''
  /** The shell moved to the FIFO its line named (`:1` after the flags; command-stream.ts). */
  moved = false
  /** Bytes after the marker (a background job's output): they belong to the next run. */
  rest: Buffer = EMPTY
  private readonly marker: Buffer
  private buf: Buffer = EMPTY
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
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.buf = this.buf.length ? Buffer.concat([this.buf, view]) : view
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
    this.buf = keep > 0 ? Buffer.from(this.buf.subarray(this.buf.length - keep)) : EMPTY
  }

  /**
   * Output ready to hand on, if any: a plain Uint8Array, not a Buffer, whose `slice()` would be
   * a view too (the line splitter copies what it holds with `slice()`; the chunk is freed).
   */
  take(): Uint8Array | undefined {
    if (!this.out.length) return undefined
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out)
    this.out = []
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  }

  /** The stream ended without a marker: everything held back is output. */
  flush(): void {
    if (this.buf.length && !this.found) this.out.push(this.buf)
    this.buf = EMPTY
  }

  private readStatus(): void {
    const nl = this.buf.indexOf(10)
    if (nl < 0 && this.buf.length <= MAX_STATUS_BYTES) return void (this.buf = Buffer.from(this.buf))
    const m = nl < 0 || nl > MAX_STATUS_BYTES ? null : STATUS.exec(this.buf.subarray(0, nl).toString())
    if (!m) {
      // Not the shell's `:<status>:<flags>`: the run printed the marker itself (its nonce is per
      // run and nowhere the run can read, but a run may dig it out of its shell's memory). What
      // follows was held, copied whole at every chunk, until a newline: `yes | tr -d '\n'` grew
      // execd without bound. The marker is output like the rest.
      this.inStatus = false
      this.out.push(Buffer.from(this.marker))
      const after = this.buf
      this.buf = EMPTY
      return this.feed(after)
    }
    this.status = Number(m[1])
    this.flags = m[2]!
    this.moved = m[3] !== undefined
    this.finish(this.buf.subarray(nl + 1))
  }

  private finish(rest: Buffer): void {
    this.found = true
    this.rest = Buffer.from(rest)
    this.buf = EMPTY
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
