/**
 * Replace-all over a stream of bytes, in bounded memory: each chunk is searched with the last
 * `old.length - 1` bytes of the previous one carried over, so a match split across two reads
 * is still found, and matches never overlap (left to right, as a whole-buffer replace).
 */
import type { FileHandle } from 'node:fs/promises'

const CHUNK = 1 << 20

/** Counts what `replacing` has replaced so far. */
interface ReplaceCount {
  count: number
}

/**
 * The file's bytes with every `old` replaced by `replacement`, read chunk by chunk from
 * `handle`. One read buffer serves the whole file (a fresh one per chunk costs a page fault per
 * page), so a piece is valid only until the next one is pulled: write it, don't keep it.
 */
export async function* replacing(
  handle: FileHandle,
  old: Buffer,
  replacement: Buffer,
  counter: ReplaceCount,
  chunkSize = CHUNK,
): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(old.length - 1 + chunkSize)
  let carried = 0
  for (let pos = 0; ;) {
    const { bytesRead } = await handle.read(buf, carried, chunkSize, pos)
    pos += bytesRead
    const eof = bytesRead === 0
    const end = carried + bytesRead
    const out: Buffer[] = []
    let from = 0
    for (let at = buf.indexOf(old, from); at >= 0 && at + old.length <= end; at = buf.indexOf(old, from)) {
      out.push(buf.subarray(from, at), replacement)
      from = at + old.length
      counter.count++
    }
    // What may be the start of a match completed by the next read stays for the next round.
    const keep = eof ? end : Math.max(from, end - (old.length - 1))
    out.push(buf.subarray(from, keep))
    const piece = out.length === 1 && out[0] ? out[0] : Buffer.concat(out)
    if (piece.length) yield piece
    if (eof) return
    buf.copyWithin(0, keep, end)
    carried = end - keep
  }
}

/** True if `old` occurs in the file: the first match ends the scan. */
export async function contains(handle: FileHandle, old: Buffer, chunkSize = CHUNK): Promise<boolean> {
  const counter = { count: 0 }
  for await (const _ of replacing(handle, old, Buffer.alloc(0), counter, chunkSize)) {
    if (counter.count > 0) return true
  }
  return counter.count > 0
}
