/**
 * Replace-all over a stream of bytes, in bounded memory: each chunk is searched with the last
 * `old.length - 1` bytes of the previous one carried over, so a match split across two reads
 * is still found, and matches never overlap (left to right, as a whole-buffer replace).
 */
import type { FileHandle } from 'node:fs/promises'
import { nextTurn } from '../../core/timers'

const CHUNK = 1 << 20

/** Counts what `replacing` has replaced so far. */
interface ReplaceCount {
  count: number
}

/** What is handed on at once: pieces are gathered into a slab of this size. */
const SLAB = 1 << 20
/** Matches between pauses for the event loop. */
const MATCHES_PER_PAUSE = 1 << 16

/**
 * The file's bytes with every `old` replaced by `replacement`, read chunk by chunk from
 * `handle`. One read buffer and one output slab serve the whole file (a fresh one per chunk
 * costs a page fault per page), so a piece is valid only until the next one is pulled: write
 * it, don't keep it. The pieces between matches and the replacements are copied into the
 * slab, handed on when full; one that would not fit goes on by itself. A chunk's pieces were
 * gathered with `Buffer.concat`: a 1 MiB chunk matching everywhere made two million buffers
 * and held the event loop 1.2 s, so a 2 GiB file held it for seconds at a time (/ping waited
 * 16.7 s) with 600 MB resident — and a long replacement made each chunk's output that many
 * times larger, whole in memory.
 */
export async function* replacing(
  handle: FileHandle,
  old: Buffer,
  replacement: Buffer,
  counter: ReplaceCount,
  chunkSize = CHUNK,
): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(old.length - 1 + chunkSize)
  const slab = Buffer.allocUnsafe(SLAB)
  let filled = 0
  let carry = 0
  for (let pos = 0; ;) {
    const { bytesRead } = await handle.read(buf, carry, chunkSize, pos)
    pos += bytesRead
    const eof = bytesRead === 0
    const end = carry + bytesRead
    let from = 0
    for (let at = buf.indexOf(old, from); at >= 0 && at + old.length <= end; at = buf.indexOf(old, from)) {
      const gap = at - from
      if (filled + gap + replacement.length > SLAB) {
        if (filled) yield slab.subarray(0, filled)
        filled = 0
      }
      if (gap + replacement.length > SLAB) {
        if (gap) yield buf.subarray(from, at)
        yield replacement
      } else {
        filled += buf.copy(slab, filled, from, at)
        filled += replacement.copy(slab, filled)
      }
      from = at + old.length
      if (++counter.count % MATCHES_PER_PAUSE === 0) await nextTurn()
    }
    // What may be the start of a match completed by the next read stays for the next round.
    const keep = eof ? end : Math.max(from, end - (old.length - 1))
    if (filled + keep - from > SLAB) {
      if (filled) yield slab.subarray(0, filled)
      filled = 0
      if (keep > from) yield buf.subarray(from, keep)
    } else filled += buf.copy(slab, filled, from, keep)
    if (eof) {
      if (filled) yield slab.subarray(0, filled)
      return
    }
    buf.copyWithin(0, keep, end)
    carry = end - keep
  }
}

/**
 * How many times `old` occurs in the file (left to right, not overlapping, as `replacing` finds
 * them), the scan ending at the first count past `stopAbove`: `stopAbove` 0 asks whether it
 * occurs at all, and a bound on a replace's growth is known to be passed without reading on.
 */
export async function countMatches(
  handle: FileHandle,
  old: Buffer,
  stopAbove = Number.POSITIVE_INFINITY,
  chunkSize = CHUNK,
): Promise<number> {
  const buf = Buffer.allocUnsafe(old.length - 1 + chunkSize)
  let count = 0
  let carry = 0
  for (let pos = 0; ;) {
    const { bytesRead } = await handle.read(buf, carry, chunkSize, pos)
    pos += bytesRead
    const end = carry + bytesRead
    let from = 0
    for (let at = buf.indexOf(old, from); at >= 0 && at + old.length <= end; at = buf.indexOf(old, from)) {
      from = at + old.length
      if (++count > stopAbove) return count
      if (count % MATCHES_PER_PAUSE === 0) await nextTurn()
    }
    if (bytesRead === 0) return count
    // What may be the start of a match completed by the next read stays for the next round.
    const keep = Math.max(from, end - (old.length - 1))
    buf.copyWithin(0, keep, end)
    carry = end - keep
  }
}

/** True if `old` occurs in the file: the first match ends the scan. */
export const contains = async (handle: FileHandle, old: Buffer, chunkSize = CHUNK): Promise<boolean> =>
  (await countMatches(handle, old, 0, chunkSize)) > 0
