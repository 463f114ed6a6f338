/**
 * The proxy section (CONTRACT §4): `/proxy/<port>/<path>` with any method reaches
 * http://127.0.0.1:<port>/<path> with the query unchanged, bodies streamed both ways,
 * WebSocket upgrades relayed. The token check has already run (core/app.ts).
 */
import { Elysia } from 'elysia'
import type { Server } from 'bun'
import type { Plugin } from '../../core/plugin'
import type { SocketHandlers } from '../../core/websocket'
import { forward, portRequired } from './forward'
import { relaySocket } from './socket'
import { parseTarget } from './target'

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const

async function proxyRequest(
  request: Request,
  server: Server<SocketHandlers> | null | undefined,
): Promise<Response | undefined> {
  const target = parseTarget(request.url)
  if (!target) return portRequired()
  const peerIp = server?.requestIP(request)?.address
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return relaySocket(request, target, peerIp, server)
  return forward(request, target, peerIp)
}

export const proxy: Plugin = {
  name: 'proxy',
  rawBodyPrefixes: ['/proxy/'],
  routes: () => {
    let app = new Elysia({ name: 'api/proxy', detail: { tags: ['proxy'] } })
    for (const method of METHODS) {
      app = app.route(
        method,
        '/proxy/*',
        ({ request, server }) => proxyRequest(request, server as unknown as Server<SocketHandlers>),
        {
          // The body is the upstream's to read, as a stream: Elysia must not parse it.
          parse: 'none',
          detail: {
            summary: `Reverse-proxy ${method} /proxy/{port}/{path} to 127.0.0.1:{port}/{path} (WebSocket upgrades too)`,
            responses: {
              400: { description: 'JSON error `port is required`' },
              502: { description: 'JSON error `BAD_GATEWAY`: nothing answered on that port' },
            },
          },
        },
      ) as unknown as typeof app
    }
    return app
  },
}
