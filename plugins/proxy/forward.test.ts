import { afterAll, describe, expect, test } from 'bun:test'
import { gzipSync } from 'node:zlib'
import { forward } from './forward'
import { parseTarget } from './target'

const upstream = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/gzip') {
      return new Response(gzipSync('squeezed'), {
        headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      })
    }
    if (url.pathname === '/redirect') return new Response(null, { status: 302, headers: { location: '/elsewhere' } })
    return Response.json(
      { method: req.method, path: url.pathname + url.search, body: await req.text() },
      { status: 418 },
    )
  },
})
afterAll(() => upstream.stop(true))

const send = (path: string, init?: RequestInit) => {
  const req = new Request(`http://execd${path}`, init)
  return forward(req, parseTarget(req.url)!, '127.0.0.1')
}

describe('forward', () => {
  test('method, path, query and body reach the upstream; its status and body come back', async () => {
    const res = await send(`/proxy/${upstream.port}/p/q?a=1`, { method: 'PUT', body: 'data' })
    expect(res.status).toBe(418)
    expect(await res.json()).toEqual({ method: 'PUT', path: '/p/q?a=1', body: 'data' })
  })

  test('compressed bodies pass through still compressed', async () => {
    const res = await send(`/proxy/${upstream.port}/gzip`)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await res.arrayBuffer())))).toBe('squeezed')
  })

  test('redirects are returned, not followed', async () => {
    const res = await send(`/proxy/${upstream.port}/redirect`)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/elsewhere')
  })

  test('nothing listening, or no port number, is a 502 BAD_GATEWAY JSON error', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const port = closed.port
    closed.stop(true)
    for (const path of [`/proxy/${port}/`, '/proxy/http/x']) {
      const res = await send(path)
      expect(res.status).toBe(502)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect((await res.json()).code).toBe('BAD_GATEWAY')
    }
  })
})
