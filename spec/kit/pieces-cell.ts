/** A cell that core/channel-writes.ts sends in pieces, built to put a piece's end where it must look twice. */
import { MESSAGE_PIECE } from '../../core/channel-writes'

/**
 * `head + literal + tail` behind a comment line (`comment` starts it) padded so that a surrogate
 * pair's first half falls on the first piece's last character: the pair must not be cut there.
 */
export function pairAcrossPieces(head: string, literal: string, tail: string, comment: string): string {
  const body = head + literal + tail
  const last = MESSAGE_PIECE - 1
  let at = last - comment.length - 1
  while (at > 0 && !(body.charCodeAt(at) >= 0xd800 && body.charCodeAt(at) <= 0xdbff)) at--
  const line = `${comment}${'x'.repeat(last - at - comment.length - 1)}\n`
  const code = line + body
  if (code.charCodeAt(last) < 0xd800 || code.charCodeAt(last) > 0xdbff) throw new Error('no pair at the boundary')
  return code
}
