/**
 * Whether bytes that arrive in pieces are UTF-8, a character split between two pieces
 * included: for a large value checked as it is written to a file (core/spilled-bytes.ts), which
 * is never whole in memory for `isUtf8` to look at at once.
 */
import { isUtf8 } from 'node:buffer'

const EMPTY = new Uint8Array(0)

/** The length a lead byte announces (an invalid one is left for isUtf8 to refuse). */
const sequenceLength = (lead: number): number => (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1)

export class Utf8Pieces {
  /** The start of a character the last piece did not finish (at most 3 bytes). */
  private carry: Uint8Array = EMPTY

  /** False once the bytes so far cannot be UTF-8. */
  push(bytes: Uint8Array): boolean {
    let from = 0
    if (this.carry.length > 0) {
      const need = sequenceLength(this.carry[0]!) - this.carry.length
      if (bytes.length < need) {
        for (const b of bytes) if ((b & 0xc0) !== 0x80) return false
        this.carry = Buffer.concat([this.carry, bytes])
        return true
      }
      if (!isUtf8(Buffer.concat([this.carry, bytes.subarray(0, need)]))) return false
      this.carry = EMPTY
      from = need
    }
    const cut = unfinishedFrom(bytes, from)
    if (!isUtf8(bytes.subarray(from, cut))) return false
    // A copy: a Buffer's slice is a view, and the caller reads into its chunk again.
    if (cut < bytes.length) this.carry = new Uint8Array(bytes.subarray(cut))
    return true
  }

  /** No character was left unfinished. */
  get complete(): boolean {
    return this.carry.length === 0
  }
}

/** Where a character the bytes do not finish starts; their length when none. */
export function unfinishedFrom(bytes: Uint8Array, from: number): number {
  for (let i = bytes.length - 1; i >= Math.max(from, bytes.length - 3); i--) {
    const c = bytes[i]!
    if (c < 0x80) break
    // (a byte no character starts with is left for isUtf8 to refuse)
    if (c >= 0xc0) return c <= 0xf4 && i + sequenceLength(c) > bytes.length ? i : bytes.length
  }
  return bytes.length
}
