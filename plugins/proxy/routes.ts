/** The proxy section's HTTP adapter: every method on `/proxy/*`, the body left as a stream. */
import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { keepHeadLength } from '../../core/head-length'
import type { SocketHandlers } from '../../core/websocket'
import type { ProxyOps } from './ops'
import { METHODS, proxyErrors } from './schema'

export function proxyRoutes(ops: ProxyOps) {
  let app = new Elysia({ name: 'api/proxy', detail: { tags: ['proxy'] } })
  for (const method of METHODS) {
    app = app.route(
      method,
      '/proxy/*',
      ({ request, server }) => {
        const answer = ops.request(request, server as unknown as Server<SocketHandlers>)
        // The request's method, not this route's: Elysia answers HEAD here with the GET route.
        return request.method === 'HEAD' ? answer.then(r => r && keepHeadLength(request, r)) : answer
      },
      {
        // The body is the upstream's to read, as a stream: Elysia must not parse it.
        parse: 'none',
        detail: {
          summary: `Reverse-proxy ${method} /proxy/{port}/{path} to 127.0.0.1:{port}/{path} (WebSocket upgrades too)`,
          responses: proxyErrors(),
        },
      },
    ) as unknown as typeof app
  }
  return app
}
