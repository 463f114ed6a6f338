/** The proxy section's one operation: relay a `/proxy/<port>/<path>` request to 127.0.0.1. */
import type { Server } from 'bun'
import { errorResponse, ExecdError } from '../../core/errors'
import { Capacity } from '../../core/limits'
import type { SocketHandlers } from '../../core/websocket'
import { forward, invalidPort, portRequired } from './forward'
import { relaySocket } from './socket'
import { parseTarget, type ProxyTarget, validPort } from './target'

/**
 * Proxied HTTP requests in flight, from the request to the end of the relayed body. Past Bun's
 * client limit (256) a request waited unanswered for one of those to end: 256 calls to an
 * upstream that answers slowly held every later proxied request for as long, and without a
 * token a chain `/proxy/<own port>/proxy/<own port>/…` 257 deep waited on itself until its
 * caller gave up. Past the cap, a 503 that names it.
 */
let inFlight = new Capacity('proxied requests in flight', 0, 'max-proxy-requests')

/**
 * Proxied WebSockets open, from the upgrade to the caller's close. Nothing capped how many there
 * were: each holds two descriptors (the caller's and the upstream's), so one client opening
 * relays without end took execd to its fd limit, and every other request and accept with it.
 */
let openSockets = new Capacity('proxied WebSockets open', 0, 'max-proxy-websockets')

/** Sets the caps (plugins/proxy/index.ts, when the section opens). */
export function limitProxyRequests(max: number, maxSockets: number): void {
  inFlight = new Capacity('proxied requests in flight', max, 'max-proxy-requests')
  openSockets = new Capacity('proxied WebSockets open', maxSockets, 'max-proxy-websockets')
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
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return proxySocket(request, target, peerIp, server)
  let release: () => void
  try {
    release = inFlight.acquire()
  } catch (err) {
    return errorResponse(err as ExecdError)
  }
  request.signal.addEventListener('abort', release, { once: true })
  return forward(request, target, peerIp, release)
}

/** A WebSocket relay holding one of `openSockets` until its caller closes (or it never opens). */
async function proxySocket(
  request: Request,
  target: ProxyTarget,
  peerIp: string | undefined,
  server: Server<SocketHandlers> | null | undefined,
): Promise<Response | undefined> {
  let release: () => void
  try {
    release = openSockets.acquire()
  } catch (err) {
    return errorResponse(err as ExecdError)
  }
  try {
    const answer = await relaySocket(request, target, peerIp, server, release)
    // An answer instead of an upgrade (502, 400): no relay holds the slot.
    if (answer !== undefined) release()
    return answer
  } catch (err) {
    release()
    throw err
  }
}
