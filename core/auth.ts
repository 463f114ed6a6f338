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
  return headers => {
    const given = headers.get(TOKEN_HEADER) ?? ''
    // Constant time: every code unit of the token is compared, whatever the given value, so
    // timing reveals neither content nor, beyond this branch, length. Done on the strings, not
    // crypto.timingSafeEqual on Buffer copies of them: the copy of the header, made per request,
    // was among the largest costs of a /ping's own JavaScript.
    const against = given.length === token.length ? given : token
    let diff = given.length ^ token.length
    for (let i = 0; i < token.length; i++) diff |= against.charCodeAt(i) ^ token.charCodeAt(i)
    return diff === 0
  }
}
