/** The proxy section's one operation: relay a `/proxy/<port>/<path>` request to 127.0.0.1. */
import type { Server } from 'bun'
import type { SocketHandlers } from '../../core/websocket'
import { forward, invalidPort, portRequired } from './forward'
import { relaySocket } from './socket'
import { parseTarget, validPort } from './target'

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
  return forward(request, target, peerIp)
}
