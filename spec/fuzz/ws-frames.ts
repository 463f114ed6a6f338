/**
 * Raw WebSocket frames as the fuzz writes them, client or lying server: any opcode, FIN, RSV
 * bits and mask, a length field that claims more than the payload; the handshake's accept key.
 */
import { createHash } from 'node:crypto'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
export const accept = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64')

/** One frame as a client sends it (masked unless told), its length field as long as `claim` says. */
export function frame(
  opcode: number,
  payload: Uint8Array,
  opts: { fin?: boolean; mask?: boolean; rsv?: number; claim?: number } = {},
) {
  const { fin = true, mask = true, rsv = 0, claim = payload.length } = opts
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
  const m = mask ? 0x80 : 0
  if (claim < 126) head.push(m | claim)
  else if (claim < 65536) head.push(m | 126, claim >> 8, claim & 0xff)
  else {
    head.push(m | 127)
    for (let i = 7; i >= 0; i--) head.push(Math.floor(claim / 2 ** (8 * i)) & 0xff)
  }
  const key = [0x12, 0x34, 0x56, 0x78]
  const body = Buffer.from(payload)
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!
  return Buffer.concat([Buffer.from(head), mask ? Buffer.from(key) : Buffer.alloc(0), body])
}
export const text = (s: string) => new TextEncoder().encode(s)
export const closeBody = (code: number, reason: Uint8Array = new Uint8Array()) =>
  Buffer.concat([Buffer.from([(code >> 8) & 0xff, code & 0xff]), Buffer.from(reason)])
