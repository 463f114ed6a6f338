/** Access-token check (CONTRACT §1): every route, `/ping` included, constant-time compare. */

export const TOKEN_HEADER = 'x-execd-access-token'

/** The reference's 401 body, byte for byte (note: `error`, not `code`/`message`). */
export const UNAUTHORIZED_BODY = '{"error":"Unauthorized: invalid or missing header X-EXECD-ACCESS-TOKEN"}'

export const unauthorized = (): Response =>
  new Response(UNAUTHORIZED_BODY, {
    status: 401,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })

/** Returns a checker for `token`; with no token configured every request passes. */
export function createTokenCheck(token: string | undefined): (headers: Headers) => boolean {
  if (!token) return () => true
  const expected = Buffer.from(token)
  return headers => {
    const given = Buffer.from(headers.get(TOKEN_HEADER) ?? '')
    // Compare equal-length buffers so timing reveals neither content nor, beyond this branch, length.
    // Bun's global crypto.timingSafeEqual: node:crypto's, without loading node:crypto at start.
    const same = crypto.timingSafeEqual(given.length === expected.length ? given : expected, expected)
    return same && given.length === expected.length
  }
}
