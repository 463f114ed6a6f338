/**
 * Elysia answers a HEAD on a dynamic route (`/proxy/*`, an isolated session's
 * `files/download`) by calling that path's GET route and then setting Content-Length to the
 * length of the body it read: 0 for a HEAD's answer, which has none. The upstream's or the
 * file's length was lost (`curl -I` said 0 where GET sent 12,345 bytes). A route that answers
 * HEAD itself keeps its length here; core/mount.ts puts it back on the answer.
 */
const lengths = new WeakMap<Request, string>()

/** `response` to `request`, its Content-Length kept when `request` is a HEAD. */
export function keepHeadLength(request: Request, response: Response): Response {
  const length = request.method === 'HEAD' ? response.headers.get('content-length') : null
  if (length !== null) lengths.set(request, length)
  return response
}

/** `response` with the Content-Length its route kept for `request`, if it kept one. */
export function restoreHeadLength(request: Request, response: Response): Response {
  const length = lengths.get(request)
  if (length !== undefined && response.headers.get('content-length') !== length) {
    response.headers.set('content-length', length)
  }
  return response
}
