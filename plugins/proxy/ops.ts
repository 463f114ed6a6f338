/** The proxy section's one operation: relay a `/proxy/<port>/<path>` request to 127.0.0.1. */
import type { Server } from 'bun'
import { errorResponse, ExecdError } from '../../core/errors'
import { Capacity } from '../../core/limits'
import type { SocketHandlers } from '../../core/websocket'
import { forward, invalidPort, portRequired } from './forward'
import { relaySocket } from './socket'
import { parseTarget, validPort } from './target'

/**
 * Proxied HTTP requests in flight, from the request to the end of the relayed body. Past Bun's
 * client limit (256) a request waited unanswered for one of those to end: 256 calls to an
 * upstream that answers slowly held every later proxied request for as long, and without a
 * token a chain `/proxy/<own port>/proxy/<own port>/…` 257 deep waited on itself until its
 * caller gave up. Past the cap, a 503 that names it.
 */
let inFlight = new Capacity('proxied requests in flight', 0, 'max-proxy-requests')

/** Sets the cap (plugins/proxy/index.ts, when the section opens). */
export function limitProxyRequests(max: number): void {
  inFlight = new Capacity('proxied requests in flight', max, 'max-proxy-requests')
}

export async function proxyRequest(
  request: Request,
  server: Server<SocketHandlers> | null | undefined,
): Promise<Response | undefined> {
  const target = parseTarget(request.url)
  if (!target) return portRequired()
  // Not a port at all (`abc`, `0`, `65536`, `-1`) is the caller's fault: it was a 502 "nothing
  // answered on that port", as if a server there were down.
  if (!validPort(target.port)) return invalidPort(target.port)
  const peerIp = server?.requestIP(request)?.address
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return relaySocket(request, target, peerIp, server)
  let release: () => void
  try {
    release = inFlight.acquire()
  } catch (err) {
    return errorResponse(err as ExecdError)
  }
  request.signal.addEventListener('abort', release, { once: true })
  return forward(request, target, peerIp, release)
}
