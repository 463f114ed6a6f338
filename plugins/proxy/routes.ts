/** The proxy section's HTTP adapter: every method on `/proxy/*`, the body left as a stream. */
import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { askedOf } from '../../core/mount'
import type { SocketHandlers } from '../../core/websocket'
import type { ProxyOps } from './ops'
import { METHODS, proxyErrors } from './schema'

export function proxyRoutes(ops: ProxyOps) {
  let app = new Elysia({ name: 'api/proxy', detail: { tags: ['proxy'] } })
  for (const method of METHODS) {
    app = app.route(
      method,
      '/proxy/*',
      // The request asked, not this route's method: a HEAD comes to the GET route (core/mount.ts).
      ({ request, server }) => ops.request(askedOf(request), server as unknown as Server<SocketHandlers>),
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
