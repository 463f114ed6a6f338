/**
 * A token the CLI cannot put in its header: a line break inside it (a token file's two lines
 * pasted into the variable), a control character, or one past U+00FF. fetch refused the header
 * and the verb said `cannot reach URL: Header 'X-EXECD-ACCESS-TOKEN' has invalid value`, a
 * daemon out of reach; a control character went out and came back a bare 400. Said once, before
 * any request, naming where the token came from and never any part of it.
 */
import { UsageError } from './errors'

/** What a header value may hold once fetch has trimmed its ends: RFC 9110's field-vchar, SP and HTAB. */
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/

const UNSENDABLE = 'it holds a line break, a control character or one past U+00FF'

export function checkTokenSendable(token: string | undefined, from: string): void {
  if (token === undefined || SENDABLE.test(token.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, ''))) return
  throw new UsageError(`the token in ${from} cannot be sent in a header: ${UNSENDABLE}`)
}

/**
 * Why no client could send `token` as the daemon's header, if so: what the CLI refuses to send
 * above, and white space at an end, which every HTTP parser strips from a header's value (Bun's
 * server too): `serve --access-token $'a\nb'` started, then refused every request made.
 */
export function tokenUnservable(token: string): string | undefined {
  if (!SENDABLE.test(token)) return UNSENDABLE
  if (/^[\t ]|[\t ]$/.test(token)) return 'it starts or ends with white space, which HTTP strips from a header'
  return undefined
}
