/** The proxy section's one operation, relaying a `/proxy/<port>/<path>` request to 127.0.0.1, and the caps its instance owns. */
import type { Server } from 'bun'
import type { Held } from '../../core/held-slots'
import { Capacity } from '../../core/limits'
import { SendQueues } from '../../core/send-queues'
import type { SocketHandlers } from '../../core/websocket'
import { forward, invalidPort, portRequired } from './forward'
import { MAX_BUFFERED_ALL, relaySocket } from './socket'
import { parseTarget, type ProxyTarget, validPort } from './target'

/** The caps and waits of an instance, as the section's options name them. */
export interface ProxyLimits {
  maxRequests: number
  maxSockets: number
  /** ms an upstream may take to answer a WebSocket handshake (0: no limit). */
  handshakeTimeout: number
  /** ms an upstream may take to send an HTTP response head (0: no limit). */
  responseTimeout: number
}

/** The proxy section's operations, with the caps its instance owns. */
export class ProxyOps {
  /**
   * Proxied HTTP requests in flight, from the request to the end of the relayed body. Past
   * Bun's client limit (256) a request waited unanswered for one of those to end: 256 calls to
   * an upstream that answers slowly held every later proxied request for as long, and without a
   * token a chain `/proxy/<own port>/proxy/<own port>/…` 257 deep waited on itself until its
   * caller gave up. Past the cap, a 503 that names it.
   */
  private readonly inFlight: Capacity
  /**
   * Proxied WebSockets open, from the upgrade to the caller's close. Nothing capped how many
   * there were: each holds two descriptors (the caller's and the upstream's), so one client
   * opening relays without end took execd to its fd limit, and every other request with it.
   */
  private readonly openSockets: Capacity
  /** What this section's relays hold queued, both ways together (MAX_BUFFERED_ALL), as a PTY store's terminals. */
  private readonly relays = new SendQueues(MAX_BUFFERED_ALL)

  private readonly handshakeMs: number
  private readonly responseMs: number

  constructor(limits: ProxyLimits) {
    this.inFlight = new Capacity('proxied requests in flight', limits.maxRequests, 'max-proxy-requests')
    this.openSockets = new Capacity('proxied WebSockets open', limits.maxSockets, 'max-proxy-websockets')
    this.handshakeMs = limits.handshakeTimeout
    this.responseMs = limits.responseTimeout
  }

  /** Who holds this instance's pools (core/held-slots.ts). */
  held(): Held[] {
    return [this.inFlight.held(), this.openSockets.held()]
  }

  async request(request: Request, server: Server<SocketHandlers> | null | undefined): Promise<Response | undefined> {
    const target = parseTarget(request.url)
    if (!target) return portRequired()
    // Not a port at all (`abc`, `0`, `65536`, `-1`) is the caller's fault: it was a 502 "nothing
    // answered on that port", as if a server there were down.
    if (!validPort(target.port)) return invalidPort(target.port)
    const peerIp = server?.requestIP(request)?.address
    if (request.headers.get('upgrade')?.toLowerCase() === 'websocket')
      return proxySocket(this.openSockets, this.relays, request, target, peerIp, server, this.handshakeMs)
    // A full pool throws its 503: the app renders it and logs who held the pool (core/mount.ts).
    const release = this.inFlight.acquire(`port ${target.port}`)
    request.signal.addEventListener('abort', release, { once: true })
    return forward(request, target, peerIp, release, this.responseMs)
  }
}

async function proxySocket(
  openSockets: Capacity,
  relays: SendQueues,
  request: Request,
  target: ProxyTarget,
  peerIp: string | undefined,
  server: Server<SocketHandlers> | null | undefined,
  handshakeMs: number,
): Promise<Response | undefined> {
  const release = openSockets.acquire(`port ${target.port}`)
  try {
    const answer = await relaySocket(request, target, peerIp, server, relays, release, handshakeMs)
    // An answer instead of an upgrade (502, 400): no relay holds the slot.
    if (answer !== undefined) release()
    return answer
  } catch (err) {
    release()
    throw err
  }
}
