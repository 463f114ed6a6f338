/**
 * bash names the file it sources in its errors (`/tmp/execd-bash-<nonce>.sh: line 1: foo:
 * command not found`), and a run is sourced from execd's code file: the user wrote a cell, not
 * that file. On stderr such a prefix becomes `bash: line N: `, as bash names itself when it
 * reads a script from a pipe. `$BASH_SOURCE` still holds the path (the file is what a run
 * sources; a run that prints it asked for it).
 *
 * The prefix may be cut between two reads of the pipe: a chunk's end that could begin it is held
 * (copied) until the next chunk or the run's end, as the end marker's beginning is held.
 */
const EMPTY = Buffer.alloc(0)
const AS_BASH = Buffer.from('bash: line ')

export class CellName {
  private prefix: Buffer
  private held: Buffer = EMPTY

  constructor(private named: string) {
    this.prefix = Buffer.from(`${named}: line `)
  }

  /** The file the next run is sourced from: a held dir made again is reached by another path. */
  set file(file: string) {
    if (file === this.named) return
    this.named = file
    this.prefix = Buffer.from(`${file}: line `)
  }

  /**
   * `data` with the file's prefix renamed; `ended`: the run's stderr is over, nothing is held.
   * Unchanged output is handed on as the same view (no copy).
   */
  pass(data: Uint8Array | undefined, ended: boolean): Uint8Array | undefined {
    if (!this.held.length) {
      // Most output holds no byte that could begin the path (its first, `/`): handed on as it
      // is, without a Buffer view made and searched (2-3 µs per 4 KiB chunk of a stderr flood).
      if (!data?.length) return undefined
      if (data.indexOf(this.prefix[0]!) < 0) return data
    }
    const view = data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : EMPTY
    let buf = this.held.length ? Buffer.concat([this.held, view]) : view
    this.held = EMPTY
    if (buf.indexOf(this.prefix) >= 0) buf = this.renamed(buf)
    if (!ended) {
      const keep = this.partialLength(buf)
      if (keep) {
        this.held = Buffer.from(buf.subarray(buf.length - keep))
        buf = buf.subarray(0, buf.length - keep)
      }
    }
    if (!buf.length) return undefined
    return buf === view && data ? data : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  private renamed(buf: Buffer): Buffer {
    const parts: Buffer[] = []
    let from = 0
    for (let at = buf.indexOf(this.prefix); at >= 0; at = buf.indexOf(this.prefix, from)) {
      parts.push(buf.subarray(from, at), AS_BASH)
      from = at + this.prefix.length
    }
    parts.push(buf.subarray(from))
    return Buffer.concat(parts)
  }

  /** Length of the longest end of `buf` that is a proper beginning of the prefix. */
  private partialLength(buf: Buffer): number {
    const first = this.prefix[0]!
    for (let at = Math.max(0, buf.length - this.prefix.length + 1); at < buf.length; at++) {
      if (buf[at] !== first) continue
      if (buf.subarray(at).equals(this.prefix.subarray(0, buf.length - at))) return buf.length - at
    }
    return 0
  }
}
