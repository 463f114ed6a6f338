/**
 * Random names and markers (temp files, owner markers, output nonces). From Web Crypto, not
 * node:crypto's randomBytes: that module, and the node streams it loads, would cost every start
 * several ms and MiB (see the build notes in the Makefile).
 */
export const randomHex = (bytes: number): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')

/** UUIDs made at once: 4 KiB of random bytes, one Web Crypto call and one hex encoding. */
const BATCH = 256
const batch = Buffer.allocUnsafeSlow(BATCH * 16)
let hexes = ''
let next = 0

/**
 * A random (version 4) UUID as 32 lowercase hex digits, no dashes: the ids of executions and
 * commands. `crypto.randomUUID().replaceAll('-', '')` made a string, searched it and built a
 * second one for every id, ~2k instructions a call more than this (bench/execution-start.ts, the main thread);
 * here an id is a slice of a batch's hex, 122 random bits from the same CSPRNG as before.
 */
export function uuidHex(): string {
  if (next === hexes.length) {
    crypto.getRandomValues(batch)
    for (let i = 0; i < batch.length; i += 16) {
      batch[i + 6] = (batch[i + 6]! & 0x0f) | 0x40 // version 4
      batch[i + 8] = (batch[i + 8]! & 0x3f) | 0x80 // RFC 4122 variant
    }
    hexes = batch.toString('hex')
    next = 0
  }
  const at = next
  next += 32
  return hexes.slice(at, at + 32)
}
