/**
 * One output stream of an interpreter read from a pipe (a bash cell's, a go kernel's, a java
 * helper's, a javascript driver's fds 1 and 2), chunk by chunk as a cell's output. A chunk that
 * JSON needs no escape in but its line feeds (printable ASCII, line feeds, UTF-8's wide
 * characters: core/lines.ts) becomes its JSON string, framed from its bytes and copied into the
 * journal's ring (core/journal.ts); any other chunk is decoded as text. Decoded,
 * merged and escaped, a flood's chunks were four strings each: a go cell's 256 MiB flood peaked
 * at ~200 MiB, a bash cell's at 165–230 before this was bash's alone.
 */
import { isUtf8 } from 'node:buffer'
import { freeChunk } from './chunks'
import type { CellQueue } from './cell-queue'
import { EncodedEvent } from './events'
import { chunkKind, ESCAPE, WIDE } from './lines'
import { unfinishedFrom } from './utf8-pieces'

const LF = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const LETTER_N = 0x6e
const EMPTY = new Uint8Array(0)
const BOM = [0xef, 0xbb, 0xbf]

export class OutputChunks {
  /** The stream's start is decoded by this one, which drops a BOM there; the rest keep theirs. */
  private readonly first = new TextDecoder()
  private readonly rest = new TextDecoder('utf-8', { ignoreBOM: true })
  private started = false
  /**
   * The start of a character the last chunk did not finish (at most 3 bytes), put before the
   * next: each chunk is then whole characters, framed or decoded on its own. A decoder holding
   * them (stream mode) made every chunk after one ending in a wide character decoded: a flood of
   * `é` without line feeds peaked at 137 MiB where `x`'s was 87.
   */
  private carry: Uint8Array = EMPTY

  constructor(readonly stream: 'stdout' | 'stderr') {}

  /**
   * `data` into `queue` (its JSON when it needs no escape but its line feeds, else its text),
   * the promise `queue` answers with (room, under `block`). The chunk is freed: copied or
   * decoded whole, its memory is warm for the next read (core/chunks.ts). The caller hands over
   * a chunk nothing else views.
   */
  into(queue: CellQueue, data: Uint8Array): Promise<void> | undefined {
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data
    const whole = this.whole(joined)
    // The queue's room is asked once, after the last piece: as for one chunk, it may pass the bound by a chunk.
    let room = this.piece(queue, whole.subarray(0, pieceEnd(whole, 0)))
    for (let from = pieceEnd(whole, 0); from < whole.length; from = pieceEnd(whole, from))
      room = this.piece(queue, whole.subarray(from, pieceEnd(whole, from)))
    freeChunk(data)
    if (joined !== data) freeChunk(joined)
    return room
  }

  /**
   * One piece of a chunk, whole characters: its JSON when it is clean, else its text. Pieces,
   * not the chunk: a read of a flood is up to 256 KiB, and as one event it was past an eighth of
   * a 1 MiB ring (so kept in a buffer of its own) and past a batch (sent as a bulk, a slice a
   * write); pieces of a size are also the allocator's same size class each time.
   */
  private piece(queue: CellQueue, bytes: Uint8Array): Promise<void> | undefined {
    const framed = this.started || !startsWithBom(bytes) ? framedJson(bytes) : undefined
    const text = framed ? undefined : this.decoded(bytes)
    // (a chunk of only a character's first bytes starts nothing: a BOM may be that character)
    if (bytes.length > 0) this.started = true
    if (framed) return queue.outputEncoded(new EncodedEvent(this.stream, framed.json, true), framed.chars)
    return queue.output(this.stream, text!)
  }

  /** `data` as text (output with no cell to take it is kept as text). */
  text(data: Uint8Array): string {
    return this.decoded(this.whole(this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data))
  }

  /** What is left at the stream's end (an unfinished character's bytes, as U+FFFD). */
  end(): string {
    const text = this.carry.length > 0 ? this.decoded(this.carry) : ''
    this.carry = EMPTY
    this.started = false
    return text
  }

  /** `joined`'s whole characters (a view); the rest carried (a copy) to the next chunk. */
  private whole(joined: Uint8Array): Uint8Array {
    const cut = unfinishedFrom(joined, 0)
    // A copy (a Buffer's slice is a view, and the chunk is freed or read into again).
    this.carry = cut < joined.length ? new Uint8Array(joined.subarray(cut)) : EMPTY
    return cut < joined.length ? joined.subarray(0, cut) : joined
  }

  private decoded(bytes: Uint8Array): string {
    if (bytes.length === 0) return ''
    const decoder = this.started ? this.rest : this.first
    this.started = true
    return decoder.decode(bytes)
  }
}

/** Bytes of a chunk's piece at most: a batch's (core/sse-batch.ts), a sixteenth of a command's 1 MiB ring. */
const PIECE_BYTES = 64 * 1024

/** The most continuation bytes (10xxxxxx) a UTF-8 character has. */
const LONGEST_TAIL = 3

/** Where the piece of whole characters `b[from..]` starts ends: at most PIECE_BYTES on. */
function pieceEnd(b: Uint8Array, from: number): number {
  if (b.length - from <= PIECE_BYTES) return b.length
  let to = from + PIECE_BYTES
  // back to the start of the character the cut falls in (a continuation byte is 10xxxxxx): three
  // bytes at most, as a character has; bytes that are not UTF-8 are cut where they fall (a run of
  // continuation bytes walked back to one-byte pieces: an event per byte)
  const least = to - LONGEST_TAIL
  while (to > least && (b[to]! & 0xc0) === 0x80) to--
  if ((b[to]! & 0xc0) === 0x80) to = from + PIECE_BYTES
  return to
}

const startsWithBom = (b: Uint8Array): boolean =>
  b[0] === BOM[0] && (b.length < 3 || (b[1] === BOM[1] && b[2] === BOM[2]))

/**
 * A chunk's JSON string (quoted, each line feed `\n`) and its length in UTF-16 units, when it
 * holds nothing JSON must escape but line feeds and is UTF-8; undefined for any other chunk.
 */
function framedJson(chunk: Uint8Array): { json: Uint8Array; chars: number } | undefined {
  if (chunk.length === 0) return undefined
  const kind = chunkKind(chunk, 0)
  if (kind & ESCAPE || (kind & WIDE && !isUtf8(chunk))) return undefined
  return { json: quoted(chunk), chars: kind & WIDE ? utf16Length(chunk) : chunk.length }
}

/** UTF-16 units of valid UTF-8: a unit per character, two for one of 4 bytes. */
function utf16Length(b: Uint8Array): number {
  let units = 0
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!
    if ((c & 0xc0) !== 0x80) units += c >= 0xf0 ? 2 : 1
  }
  return units
}

function quoted(chunk: Uint8Array): Uint8Array {
  let feeds = 0
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) feeds++
  const out = new Uint8Array(chunk.length + feeds + 2)
  out[0] = QUOTE
  let to = 1
  let from = 0
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, from)) {
    out.set(chunk.subarray(from, at), to)
    to += at - from
    out[to++] = BACKSLASH
    out[to++] = LETTER_N
    from = at + 1
  }
  out.set(chunk.subarray(from), to)
  out[out.length - 1] = QUOTE
  return out
}
