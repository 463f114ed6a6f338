/**
 * The server of bench/request-instructions.ts: a bare Bun.serve answering `POST /code` (a cell's
 * request: token header, JSON body) with a warm cell's five SSE frames, and `GET /ping` with an
 * empty 200. Which way the request comes in is argv[2]:
 *   bare  the route matched by its path, `request.json()`, the code's type checked;
 *   door  execd's own front door (core/front-door.ts with the options serve gives it: token,
 *         origin guard, head size, request cap, strict body read under its timer, depth scan,
 *         JSON.parse, a direct route) in front of the same answer;
 *   plus a door with one of its steps undone, to name each step's instructions:
 *   door-json  the front door, the body read by `request.json()` instead of core/body's read.
 * Prints its port on stdout once listening.
 */
import { createFrontDoor, pathOf } from '../../core/front-door'
import type { DirectRoute } from '../../core/plugin'
import { FRAMES, HEADERS } from './cell-answer'

const TOKEN = process.env.DOOR_TOKEN ?? ''
const answer = () => new Response(FRAMES, { status: 200, headers: HEADERS })
const bad = () => new Response('{"code":"INVALID_REQUEST_BODY","message":"code"}', { status: 400 })

const bare = async (request: Request): Promise<Response> => {
  const path = pathOf(request.url)
  if (request.method === 'GET' && path === '/ping') return new Response(null, { status: 200 })
  if (request.method !== 'POST' || path !== '/code') return new Response(null, { status: 404 })
  if (request.headers.get('x-execd-access-token') !== TOKEN) return new Response(null, { status: 401 })
  const body = (await request.json()) as { code?: unknown }
  return typeof body?.code === 'string' ? answer() : bad()
}

const code: DirectRoute = {
  method: 'POST',
  path: '/code',
  accepts: body => typeof (body as { code?: unknown } | null)?.code === 'string',
  handle: async () => answer(),
}

const door = (readBody: 'strict' | 'json') =>
  createFrontDoor(
    async (request, path) => {
      if (path === '/ping') return new Response(null, { status: 200 })
      // Only reached by door-json (the direct route takes door's bodies before this).
      const body = (await request.json()) as { code?: unknown }
      return typeof body?.code === 'string' ? answer() : bad()
    },
    {
      token: TOKEN,
      origin: { checkHost: false, allowedHosts: [], allowedOrigins: [] },
      body: { maxBytes: 16 * 1024 * 1024, timeoutMs: 60_000 },
      maxRequests: 2048,
      // door-json: /code as a raw prefix (the proxy's way past the body read), so its body
      // reaches the handler unread.
      rawPrefixes: readBody === 'strict' ? ['/proxy/'] : ['/proxy/', '/code'],
      shapeOf: () => 'object',
      directOf: (method, path) => (method === 'POST' && path === '/code' ? code : undefined),
    },
  )

const variant = process.argv[2] ?? 'bare'
type Fetch = (request: Request, server: { readonly pendingRequests: number }) => Response | Promise<Response>
const doors: Record<string, Fetch> = {
  bare,
  door: door('strict'),
  'door-json': door('json'),
}
const fetch = doors[variant]
if (!fetch) throw new Error(`unknown variant ${variant}: ${Object.keys(doors).join(', ')}`)
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  development: false,
  reusePort: false,
  fetch: (request, srv) => fetch(request, srv),
})
process.stdout.write(`${server.port}\n`)
