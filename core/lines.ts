/**
 * Splits command output into the line events of CONTRACT §2, as the reference does: on `\n`
 * and on `\r` (`\r\n` counts once), terminator removed, an empty line sent as "\n", an
 * unterminated tail held until more output or `end()`. A line longer than `maxLine` UTF-16
 * units is cut into pieces of `maxLine` units (the last shorter; one fewer where the cut would
 * split a surrogate pair), so a flood without newlines never grows memory — and the same
 * wherever the pipe's reads happened to end, terminated or not (`cutPieces`).
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder()
  private tail = ''
  private afterCR = false

  constructor(private readonly maxLine = 64 * 1024) {}

  /** Lines completed by this chunk (each already in wire form: "" becomes "\n"). */
  push(chunk: Uint8Array): string[] {
    return this.split(this.decoder.decode(chunk, { stream: true }))
  }

  /** The unterminated tail, if any, once the output has ended. */
  end(): string[] {
    const lines = this.split(this.decoder.decode())
    if (this.tail !== '') lines.push(this.tail)
    this.tail = ''
    return lines
  }

  private split(text: string): string[] {
    const lines: string[] = []
    let start = 0
    if (this.afterCR && text.length > 0) {
      // the \n of a \r\n whose \r ended the previous chunk
      this.afterCR = false
      if (text.charCodeAt(0) === 10) start = 1
    }
    // Native searches, not a loop over every character: output is mostly long lines.
    let lf = text.indexOf('\n', start)
    let cr = text.indexOf('\r', start)
    while (lf !== -1 || cr !== -1) {
      const atCR = cr !== -1 && (lf === -1 || cr < lf)
      const end = atCR ? cr : lf
      const line = cutPieces(this.tail + text.slice(start, end), this.maxLine, lines)
      this.tail = ''
      lines.push(line === '' ? '\n' : line)
      start = end + 1
      if (atCR) {
        if (start === text.length) this.afterCR = true
        else if (text.charCodeAt(start) === 10) start++
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
    }
    this.tail = cutPieces(this.tail + text.slice(start), this.maxLine, lines)
    return lines
  }
}

/**
 * Pushes the first pieces of a long line onto `lines` and returns the rest (at most `max` units,
 * empty only for an empty text). A piece is `max` units, or `max - 1` where its last would be the
 * high half of a surrogate pair (a lone half would reach the client as an invalid `\ud83d`); the
 * decoders never give half a pair, so the cuts depend on the line alone — cutting a growing tail
 * while it is longer than `max` and cutting the whole line at once agree.
 */
function cutPieces(text: string, max: number, lines: { push(line: string): unknown }): string {
  if (text.length <= max) return text
  let at = 0
  while (text.length - at > max) {
    let cut = at + max
    const unit = text.charCodeAt(cut - 1)
    if (unit >= 0xd800 && unit < 0xdc00 && max > 1) cut--
    lines.push(text.slice(at, cut))
    at = cut
  }
  return text.slice(at)
}

/**
 * What a byte means to an output line: 0 goes into JSON as is (printable ASCII but `"` and
 * `\`), ESCAPE must be escaped (controls, `"`, `\`), WIDE is not ASCII (a character of more
 * than one byte, or invalid UTF-8). Line ends are found by `indexOf`, not here.
 */
export const ESCAPE = 1
export const WIDE = 2
const KIND = new Uint8Array(256).map((_, b) => (b >= 0x80 ? WIDE : b < 0x20 || b === 0x22 || b === 0x5c ? ESCAPE : 0))
const BOM = [0xef, 0xbb, 0xbf]

/**
 * KIND of two bytes at once (either byte order), a line feed counting as clean: a chunk is
 * looked at two bytes a look-up, four look-ups a step — a third of the per-byte loop's cost,
 * which was an eighth of execd's main thread in a flood; read as 16-bit halves, four to a step
 * into two accumulators, a fifth less again than two look-ups per 32-bit word with its shift
 * and mask (0.19 → 0.15 ms per MiB, best of 12 in a micro-benchmark). A chunk of kind 0 has
 * only clean lines (its CRs and every other control count); any other chunk is looked at line
 * by line.
 */
const CHUNK_KIND = KIND.map((k, b) => (b === 10 ? 0 : k))
const PAIR_KIND = new Uint8Array(1 << 16).map((_, p) => CHUNK_KIND[p & 0xff]! | CHUNK_KIND[p >>> 8]!)
/** Below this many bytes a chunk is looked at a byte at a time. */
const WORDS_FROM = 64

/**
 * Whether `chunk` is only clean lines' bytes and line feeds: printable ASCII that JSON needs no
 * escape for but its `\n`s (a bash cell's chunk is framed from its bytes then: plugins/bash).
 */
export const cleanChunk = (chunk: Uint8Array): boolean => chunkKind(chunk, 0) === 0

/** The kinds of `chunk[from..]`'s bytes ORed, a line feed clean. */
export function chunkKind(chunk: Uint8Array, from: number): number {
  let kind = 0
  let i = from
  const end = chunk.length
  if (end - i >= WORDS_FROM) {
    // bytes up to the first 8-byte boundary of the underlying buffer, then 16-bit halves
    for (; (chunk.byteOffset + i) & 7; i++) kind |= CHUNK_KIND[chunk[i]!]!
    const halves = new Uint16Array(chunk.buffer, chunk.byteOffset + i, ((end - i) >>> 3) << 2)
    let other = 0
    for (let h = 0; h < halves.length; h += 4) {
      kind |= PAIR_KIND[halves[h]!]! | PAIR_KIND[halves[h + 1]!]!
      other |= PAIR_KIND[halves[h + 2]!]! | PAIR_KIND[halves[h + 3]!]!
    }
    kind |= other
    i += halves.length << 1
  }
  for (; i < end; i++) kind |= CHUNK_KIND[chunk[i]!]!
  return kind
}

/**
 * A line of output as it came: bytes that need no JSON escaping (a view into the chunk given
 * to `push`, valid until the next `push`), or decoded text for any other line.
 */
export type OutputLine = Uint8Array | string

/**
 * The same lines as `LineSplitter`, without decoding the output: a clean line (printable
 * ASCII that JSON needs no escape for, nearly all of a flood) stays bytes, so it can be framed
 * and journaled without a string being made or encoded again; any other line is decoded as
 * `LineSplitter` would (self-synchronising UTF-8: decoding line by line equals decoding the
 * stream, since lines end at ASCII bytes). A long line, terminated or not, is cut where
 * `LineSplitter` cuts it, in UTF-16 units: in bytes while it is ASCII, as decoded text once not.
 */
export class ByteLineSplitter {
  /** Decodes a whole line; the stream's BOM is dropped once, at its start (as TextDecoder does). */
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  /** The unterminated tail while it is bytes: copies (the chunk is not kept). */
  private tail: Uint8Array[] = []
  private tailBytes = 0
  private tailKind = 0
  /** The tail once it was cut as text (a long non-ASCII line), and its streaming decoder. */
  private tailText: string | undefined
  private textDecoder: TextDecoder | undefined
  private afterCR = false
  /** The stream's first bytes while they may still be a BOM; undefined once past it. */
  private head: Uint8Array | undefined = new Uint8Array(0)

  constructor(private readonly maxLine = 64 * 1024) {}

  /** Lines completed by this chunk (wire form: an empty line is "\n"). */
  push(chunk: Uint8Array): OutputLine[] {
    return this.split(chunk, false).lines as OutputLine[]
  }

  /**
   * `push`, but a clean line that lies whole in the chunk comes as two numbers, where it
   * starts and ends in `source` (the chunk, or the copy of the output's first bytes made to
   * look for a BOM): no view is made per line for a caller that copies the bytes anyway.
   */
  pushRanges(chunk: Uint8Array): { source: Uint8Array; lines: (OutputLine | number)[] } {
    return this.split(chunk, true)
  }

  private split(chunk: Uint8Array, ranges: boolean): { source: Uint8Array; lines: (OutputLine | number)[] } {
    if (this.head) {
      const got = concat([this.head, chunk])
      const n = Math.min(3, got.length)
      if (got.subarray(0, n).some((b, i) => b !== BOM[i])) chunk = got
      else if (n < 3) return ((this.head = got), { source: chunk, lines: [] })
      else chunk = got.subarray(3)
      this.head = undefined
    }
    const lines: (OutputLine | number)[] = []
    let start = 0
    if (this.afterCR && chunk.length > 0) {
      // the \n of a \r\n whose \r ended the previous chunk
      this.afterCR = false
      if (chunk[0] === 10) start = 1
    }
    // Native searches for the ends; the kind of the whole chunk first, and of each line only
    // when the chunk has something other than clean lines.
    const clean = chunkKind(chunk, start) === 0
    let lf = chunk.indexOf(10, start)
    let cr = clean ? -1 : chunk.indexOf(13, start)
    while (lf !== -1 || cr !== -1) {
      const atCR = cr !== -1 && (lf === -1 || cr < lf)
      const end = atCR ? cr : lf
      let kind = 0
      if (!clean) for (let i = start; i < end; i++) kind |= KIND[chunk[i]!]!
      if (
        ranges &&
        kind === 0 &&
        end > start &&
        end - start <= this.maxLine &&
        this.tailBytes === 0 &&
        this.tailText === undefined
      )
        lines.push(start, end)
      else this.line(chunk.subarray(start, end), kind, lines as OutputLine[])
      start = end + 1
      if (atCR) {
        if (start === chunk.length) this.afterCR = true
        else if (chunk[start] === 10) start++
      }
      if (lf !== -1 && lf < start) lf = chunk.indexOf(10, start)
      if (cr !== -1 && cr < start) cr = chunk.indexOf(13, start)
    }
    if (start < chunk.length) this.hold(chunk.subarray(start), lines as OutputLine[], clean ? 0 : undefined)
    return { source: chunk, lines }
  }

  /** The unterminated tail, if any, once the output has ended. */
  end(): OutputLine[] {
    const lines: OutputLine[] = []
    if (this.head) {
      // fewer than three bytes, all a BOM's beginning: text of their own (replacement characters)
      const head = this.head
      this.head = undefined
      if (head.length > 0) this.hold(head, lines)
    }
    if (this.tailText !== undefined) {
      // what the decoder held back ends the text, which is cut again as LineSplitter does
      const rest = cutPieces(this.tailText + this.textDecoder!.decode(), this.maxLine, lines)
      if (rest !== '') lines.push(rest)
      this.tailText = undefined
    } else if (this.tailBytes > 0) this.line(new Uint8Array(0), 0, lines)
    return lines
  }

  /** The tail plus `bytes` as one line (in pieces if longer than `maxLine`), the tail emptied. */
  private line(bytes: Uint8Array, kind: number, lines: OutputLine[]): void {
    if (this.tailText !== undefined) {
      const text = cutPieces(this.tailText + this.textDecoder!.decode(bytes), this.maxLine, lines)
      this.tailText = undefined
      lines.push(text === '' ? '\n' : text)
      return
    }
    if (this.tailBytes > 0) {
      bytes = concat([...this.tail, bytes])
      kind |= this.tailKind
      this.tail = []
      this.tailBytes = 0
      this.tailKind = 0
    }
    if (bytes.length === 0) lines.push('\n')
    else if (bytes.length > this.maxLine) this.pieces(bytes, kind, lines)
    else lines.push(kind === 0 ? bytes : this.decoder.decode(bytes))
  }

  /** A whole line longer than `maxLine`: byte pieces while ASCII (a unit a byte), else text pieces. */
  private pieces(bytes: Uint8Array, kind: number, lines: OutputLine[]): void {
    if (kind & WIDE) {
      lines.push(cutPieces(this.decoder.decode(bytes), this.maxLine, lines))
      return
    }
    for (let at = 0; at < bytes.length; at += this.maxLine) {
      const piece = bytes.subarray(at, at + this.maxLine)
      lines.push(kind === 0 ? piece : this.decoder.decode(piece))
    }
  }

  /**
   * Keeps an unterminated piece; cuts the tail into `maxLine` pieces once it is longer.
   * `known` is the piece's kind when its chunk was found clean.
   */
  private hold(piece: Uint8Array, lines: OutputLine[], known?: number): void {
    if (this.tailText !== undefined) {
      this.tailText = cutPieces(this.tailText + this.textDecoder!.decode(piece, { stream: true }), this.maxLine, lines)
      return
    }
    let kind = known ?? 0
    if (known === undefined) for (let i = 0; i < piece.length; i++) kind |= KIND[piece[i]!]!
    this.tail.push(piece.slice())
    this.tailBytes += piece.length
    this.tailKind |= kind
    if (this.tailBytes <= this.maxLine) return
    if (!(this.tailKind & WIDE)) {
      // ASCII: a unit a byte, so the cut is where the text one makes it
      let bytes = concat(this.tail)
      const kindOf = this.tailKind
      this.tail = []
      this.tailBytes = 0
      this.tailKind = 0
      while (bytes.length > this.maxLine) {
        const cut = bytes.subarray(0, this.maxLine)
        lines.push(kindOf === 0 ? cut.slice() : this.decoder.decode(cut))
        bytes = bytes.subarray(this.maxLine)
      }
      if (bytes.length > 0) {
        this.tail = [bytes.slice()]
        this.tailBytes = bytes.length
        this.tailKind = kindOf
      }
      return
    }
    // Wider than its units: from here this line is text, as LineSplitter keeps it.
    this.textDecoder ??= new TextDecoder('utf-8', { ignoreBOM: true })
    this.tailText = cutPieces(this.textDecoder.decode(concat(this.tail), { stream: true }), this.maxLine, lines)
    this.tail = []
    this.tailBytes = 0
    this.tailKind = 0
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let size = 0
  for (const p of parts) size += p.length
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
