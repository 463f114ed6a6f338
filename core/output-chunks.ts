/**
 * One output stream of an interpreter read from a pipe (a bash cell's, a go kernel's, a java
 * helper's, a javascript driver's fds 1 and 2), chunk by chunk as a cell's output. A clean chunk
 * (printable ASCII and line feeds, core/lines.ts) becomes its JSON string, framed from its bytes
 * and copied into the journal's ring (core/journal.ts); any other chunk is decoded as text. Decoded,
 * merged and escaped, a flood's chunks were four strings each: a go cell's 256 MiB flood peaked
 * at ~200 MiB, a bash cell's at 165–230 before this was bash's alone.
 */
import { freeChunk } from './chunks'
import type { CellQueue } from './cell-queue'
import { EncodedEvent } from './events'
import { cleanChunk } from './lines'

const LF = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const LETTER_N = 0x6e

export class OutputChunks {
  private readonly decoder = new TextDecoder()
  /**
   * Whether the decoder holds nothing: it has decoded the stream's start (a BOM is dropped
   * there) and its last chunk ended in ASCII (no character's first bytes wait in it).
   */
  private settled = false

  constructor(readonly stream: 'stdout' | 'stderr') {}

  /**
   * `data` into `queue` (its JSON when clean, else its text), the promise `queue` answers with
   * (room, under `block`). The chunk is freed: copied or decoded whole, its memory is warm for
   * the next read (core/chunks.ts). The caller hands over a chunk nothing else views.
   */
  into(queue: CellQueue, data: Uint8Array): Promise<void> | undefined {
    const json = this.settled ? cleanJson(data) : undefined
    if (json) {
      const chars = data.length
      freeChunk(data)
      return queue.outputEncoded(new EncodedEvent(this.stream, json, true), chars)
    }
    const text = this.text(data)
    freeChunk(data)
    return queue.output(this.stream, text)
  }

  /** `data` as text (output with no cell to take it is kept as text). */
  text(data: Uint8Array): string {
    const text = this.decoder.decode(data, { stream: true })
    this.settled = data.length > 0 && data[data.length - 1]! < 0x80
    return text
  }

  /** What the decoder holds at the stream's end. */
  end(): string {
    this.settled = false
    return this.decoder.decode()
  }
}

/** A clean chunk's JSON string (quoted, each line feed `\n`); undefined for any other chunk. */
function cleanJson(chunk: Uint8Array): Uint8Array | undefined {
  if (chunk.length === 0 || !cleanChunk(chunk)) return undefined
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
