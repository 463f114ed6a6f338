/**
 * A request's client gone, told as soon as the kernel knows it. Bun aborts `request.signal` when
 * it reads the connection's end, but while a body is streamed it stops reading the socket once
 * it holds about a megabyte the handler has not taken yet (backpressure), so a client that sent
 * that much and left was seen only after the handler had worked through all of it: an upload of
 * 6,000 one-byte files cut off after 200 staged 4,760 more in about one try of six (measured on
 * Bun 1.4.5: the connection sat in CLOSE_WAIT with 20 KB and the FIN unread in the kernel, the
 * signal silent, for the 27 s the staging took). The connection's own descriptor says it at once:
 * poll's POLLRDHUP is set from the moment the peer's FIN (or reset) arrives, whatever is still
 * queued before it.
 *
 * The peer's FIN is the client's end here even after a whole body: Bun answers no request whose
 * client half-closed (it closes the connection when it reads the FIN), so nothing the handler
 * would finish could reach it.
 */
import { closeSync } from 'node:fs'
import type { Answer } from './answering'
import { heldConnectionSoon } from './connection-fd'
import { POLLERR, POLLHUP, POLLNVAL, POLLRDHUP, pollOne } from './poll'

const ENDED = POLLRDHUP | POLLHUP | POLLERR | POLLNVAL
/**
 * How often the connection is looked at; the first look finds its descriptor (core/connection-fd.ts:
 * two calls for a connection seen before, else a pass over the process's descriptors in slices),
 * so a request over sooner pays nothing.
 */
const LOOK_MS = 100

export interface ClientWatch {
  /** Aborted when `request.signal` is, or when the connection has ended. */
  signal: AbortSignal
  /** Ends the watch (idempotent); the request's handler calls it when it is done. */
  stop(): void
}

/** Watches `answer`'s connection for its client's end, until `stop()`. */
export function watchClient(answer: Answer): ClientWatch {
  const since = performance.now()
  const gone = new AbortController()
  const signal = AbortSignal.any([answer.request.signal, gone.signal])
  // undefined: not looked for yet; 'finding': being looked for; null: none to watch (the
  // request's signal alone tells), or stopped.
  let held: { fd: number } | 'finding' | null | undefined
  const stop = () => {
    clearInterval(timer)
    if (held && held !== 'finding') closeSync(held.fd)
    held = null
  }
  const find = async () => {
    held = 'finding'
    const found = await heldConnectionSoon(answer, since).catch(() => undefined)
    // Stopped meanwhile: what was found is not kept.
    if (held !== 'finding') return found && closeSync(found.fd)
    held = found ?? null
    if (!found) return stop()
    look()
  }
  const look = () => {
    if (signal.aborted) return stop()
    if (held === undefined) return void find()
    if (!held || held === 'finding') return
    if ((pollOne(held.fd, POLLRDHUP, 0) ?? 0) & ENDED) {
      gone.abort(new DOMException('The connection was closed.', 'AbortError'))
      stop()
    }
  }
  const timer = setInterval(look, LOOK_MS)
  timer.unref?.()
  return { signal, stop }
}
