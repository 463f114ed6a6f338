/**
 * Whether Bun is still sending the answer to a request. A body given to Bun as a buffer is
 * copied into the connection's send buffer and held there until the client has read it or gone
 * (the buffer itself is collected at once), and Bun says nothing when the answer is done:
 * `request.signal` aborts only when the client goes first, a ReadableStream body loses its
 * Content-Length (chunked) and is pulled whole anyway. `server.requestIP(request)` does tell:
 * it is the peer while the request's answer is in flight and null from the moment it is written
 * (or the connection gone), whatever becomes of the connection (measured on Bun 1.4.5).
 *
 * The server is the one the route's app is served by (Elysia's `server`, set by serve on the
 * app that serve made): nothing here is the process's, so an app answering in process
 * (app.handle, a test) beside a served one holds no answer in memory it cannot watch.
 */

/** What a server tells of a request it received. */
export interface Peers {
  requestIP(request: Request): unknown
}

/** An answer on its way to a client: the request and the server that received it (none: answered in process). */
export interface Answer {
  request: Request
  server: Peers | null | undefined
}

/** A request built from another (a forwarded one) → the one Bun received. */
const received = new WeakMap<Request, Request>()

/** `inner` is answered on `outer`'s connection (a forward: the isolated files view, a rewrite). */
export function answeredFor(inner: Request, outer: Request): void {
  received.set(inner, received.get(outer) ?? outer)
}

/**
 * A probe that is true while the answer is still being sent; undefined when that cannot be
 * told (no server, or a request its server never received).
 */
function answerProbe({ request, server }: Answer): (() => boolean) | undefined {
  if (!server) return undefined
  const original = receivedOf(request)
  if (server.requestIP(original) === null) return undefined
  return () => server.requestIP(original) !== null
}

/** The request Bun received that `request` stands for. */
export const receivedOf = (request: Request): Request => received.get(request) ?? request

/** How often the answers being watched are looked at (Bun says nothing when one is done). */
const WATCH_MS = 100

// Process-wide, as a timer is: one interval looks at every answer watched, whichever app's
// server it is on; the watches are their callers' (a budget's, an app's downloads).
const watched = new Set<{ answering: () => boolean; done: () => void }>()
let sweeper: ReturnType<typeof setInterval> | undefined

/**
 * Calls `done` once `answer` has been sent or abandoned, at the next look (every WATCH_MS; one
 * interval for every answer watched, cleared when none is); false when its end cannot be watched
 * (see answerProbe), and `done` is never called.
 */
export function whenAnswered(answer: Answer, done: () => void): boolean {
  const answering = answerProbe(answer)
  if (!answering) return false
  watched.add({ answering, done })
  if (!sweeper) {
    sweeper = setInterval(sweep, WATCH_MS)
    sweeper.unref?.()
  }
  return true
}

function sweep(): void {
  for (const w of watched) {
    if (w.answering()) continue
    watched.delete(w)
    w.done()
  }
  if (watched.size === 0 && sweeper) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}
