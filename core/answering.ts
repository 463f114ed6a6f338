/**
 * Whether Bun is still sending the answer to a request. A body given to Bun as a buffer is
 * copied into the connection's send buffer and held there until the client has read it or gone
 * (the buffer itself is collected at once), and Bun says nothing when the answer is done:
 * `request.signal` aborts only when the client goes first, a ReadableStream body loses its
 * Content-Length (chunked) and is pulled whole anyway. `server.requestIP(request)` does tell:
 * it is the peer while the request's answer is in flight and null from the moment it is written
 * (or the connection gone), whatever becomes of the connection (measured on Bun 1.4.5).
 */

interface Peers {
  requestIP(request: Request): unknown
}

let server: Peers | undefined
/** A request built from another (a forwarded one) → the one Bun received. */
const received = new WeakMap<Request, Request>()

/** Called once serving: from then on a request's answer can be watched. */
export function watchAnswers(peers: Peers): void {
  server = peers
}

/** `inner` is answered on `outer`'s connection (a forward: the isolated files view, a rewrite). */
export function answeredFor(inner: Request, outer: Request): void {
  received.set(inner, received.get(outer) ?? outer)
}

/** Whether this process serves HTTP (not the CLI's own file operations, not a unit test). */
export const serving = (): boolean => server !== undefined

/**
 * A probe that is true while the answer to `request` is still being sent; undefined when that
 * cannot be told (not serving, or a request Bun never received).
 */
export function answerProbe(request: Request | undefined): (() => boolean) | undefined {
  if (!server || !request) return undefined
  const peers = server
  const original = received.get(request) ?? request
  if (peers.requestIP(original) === null) return undefined
  return () => peers.requestIP(original) !== null
}

/** The request Bun received that `request` stands for. */
export const receivedOf = (request: Request): Request => received.get(request) ?? request
