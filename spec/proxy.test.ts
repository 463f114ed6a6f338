/**
 * `/proxy/<port>/<path>` through the executable: requests reach a real local server with
 * method, path, query and body intact, its answers come back unchanged, execd's token does
 * not travel, failures are the reference's 400/502 text, WebSockets are relayed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { freePort } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { UPGRADE_HEADERS } from './kit/upgrade-headers'

let upstream: ReturnType<typeof Bun.serve>
/** A bare HTTP/1.1 server: answers exactly these bytes, so nothing adds a header behind our back. */
let raw: Bun.TCPSocketListener<undefined>
const rawRequests: string[] = []
const RAW_ANSWERS: Record<string, string> = {
  '/untyped': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw',
  '/untyped-chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nraw\r\n0\r\n\r\n',
  '/cookies':
    'HTTP/1.1 204 No Content\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\nConnection: close\r\n\r\n',
}
const seen: { method: string; path: string; headers: Record<string, string>; body: string }[] = []

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req, server) {
      if (server.upgrade(req, { data: undefined })) return undefined
      const url = new URL(req.url)
      const headers: Record<string, string> = {}
      req.headers.forEach((v, k) => (headers[k] = v))
      seen.push({ method: req.method, path: url.pathname + url.search, headers, body: await req.text() })
      if (url.pathname === '/credential-vault/_active') return new Response('forbidden here', { status: 403 })
      if (url.pathname === '/stream') {
        // Two chunks with a pause: the first must reach the caller before the second exists.
        const body = new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('first\n'))
            await Bun.sleep(300)
            controller.enqueue(new TextEncoder().encode('second\n'))
            controller.close()
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/plain' } })
      }
      return new Response(`${req.method} ${url.pathname}${url.search}`, {
        status: 201,
        headers: { 'x-upstream': 'yes' },
      })
    },
    websocket: {
      message(ws, message) {
        ws.send(typeof message === 'string' ? `echo:${message}` : message)
      },
    },
  })
  raw = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(socket, bytes) {
        const head = Buffer.from(bytes).toString('latin1')
        const line = head.slice(0, head.indexOf('\r\n'))
        rawRequests.push(line)
        const path = line.split(' ')[1]?.replace(/^\/+/, '/')
        if (path === '/untyped-slow') {
          // Two chunks with a pause: the first must reach the caller before the second exists.
          socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nfirst\n\r\n')
          setTimeout(() => socket.end('7\r\nsecond\n\r\n0\r\n\r\n'), 300)
          return
        }
        socket.write(RAW_ANSWERS[path ?? ''] ?? RAW_ANSWERS['/untyped'] ?? '')
        socket.end()
      },
    },
  })
})
const fx = daemonAlone()
afterAll(async () => {
  upstream.stop(true)
  raw.stop(true)
})

describe('proxy', () => {
  test('GET reaches the upstream path with the query; status, headers and body come back unchanged', async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}/a/b?x=1&y=two%20words`)
    expect(res.status).toBe(201)
    expect(res.headers.get('x-upstream')).toBe('yes')
    expect(await res.text()).toBe('GET /a/b?x=1&y=two%20words')
  })

  test("the upstream's 403 passes through unchanged (the reference's own test)", async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}/credential-vault/_active`)
    expect(res.status).toBe(403)
    expect(await res.text()).toBe('forbidden here')
  })

  test('POST bodies arrive whole, JSON included, and the access token is not forwarded', async () => {
    const body = JSON.stringify({ big: 'x'.repeat(200_000) })
    const res = await fx.d.fetch(`/proxy/${upstream.port}/post`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(201)
    const got = seen.find(s => s.path === '/post')!
    expect(got.method).toBe('POST')
    expect(got.body).toBe(body)
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-execd-access-token']).toBeUndefined()
    expect(got.headers['x-forwarded-proto']).toBe('http')
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1')
  })

  test('responses stream: the first chunk arrives before the upstream has finished', async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}/stream`)
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toBe('first\n')
    let rest = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    expect(rest).toBe('second\n')
  })

  test('an empty port is a 400 JSON error "port is required"', async () => {
    const res = await fx.d.fetch('/proxy/')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ code: 'INVALID_REQUEST_BODY', message: 'port is required' })
  })

  test('nothing listening is a 502 JSON error BAD_GATEWAY', async () => {
    const res = await fx.d.fetch(`/proxy/${await freePort()}/x`)
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect((await res.json()).code).toBe('BAD_GATEWAY')
  })

  test('the token is required for proxied paths too', async () => {
    expect((await fetch(`${fx.d.url}/proxy/${upstream.port}/x`)).status).toBe(401)
  })

  test('a WebSocket upgrade to a port where nothing listens is 502 before the handshake', async () => {
    const res = await fx.d.fetch(`/proxy/${await freePort()}/ws`, {
      headers: UPGRADE_HEADERS,
    })
    expect(res.status).toBe(502)
  })

  test('WebSocket upgrades are relayed both ways, text and binary', async () => {
    const ws = new WebSocket(`${fx.d.url.replace('http', 'ws')}/proxy/${upstream.port}/socket`, {
      headers: { 'X-EXECD-ACCESS-TOKEN': fx.d.token },
    } as unknown as string[])
    ws.binaryType = 'arraybuffer'
    const got: (string | number[])[] = []
    ws.onmessage = e => got.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data)])
    await new Promise((resolve, reject) => {
      ws.onopen = resolve
      ws.onerror = reject
    })
    ws.send('hello')
    ws.send(new Uint8Array([1, 2, 3]))
    for (let i = 0; i < 500 && got.length < 2; i++) await Bun.sleep(10)
    expect(got).toEqual(['echo:hello', [1, 2, 3]])
    const closed = new Promise<number>(resolve => (ws.onclose = e => resolve(e.code)))
    ws.close(1000)
    expect(await closed).toBe(1000)
  })

  test('a path starting with // reaches the upstream as it is, not collapsed to /', async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}//a//b?x=//y`)
    expect(await res.text()).toBe('GET //a//b?x=//y')
    await fx.d.fetch(`/proxy/${raw.port}//untyped`)
    expect(rawRequests.at(-1)).toBe('GET //untyped HTTP/1.1')
  })

  test('a POST to a // path arrives whole at that path', async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}//double/post?q=1`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    })
    expect(await res.text()).toBe('POST //double/post?q=1')
    expect(seen.find(s => s.path === '//double/post?q=1')?.body).toBe('x'.repeat(100_000))
  })

  test('a client that leaves in the middle of its body, on either path, ends that request only', async () => {
    for (const path of [`/proxy/${upstream.port}//left/midway`, `/proxy/${upstream.port}/left/midway`]) {
      const socket = connect(Number(new URL(fx.d.url).port), '127.0.0.1')
      await new Promise(resolve => socket.once('connect', resolve))
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${new URL(fx.d.url).host}\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
          `Content-Length: 100000\r\n\r\n${'x'.repeat(1000)}`,
      )
      await Bun.sleep(300)
      socket.destroy()
      await Bun.sleep(300)
      expect(fx.d.proc.exitCode).toBeNull()
      expect((await fx.d.fetch('/ping')).status).toBe(200)
    }
  })

  test('an untyped response streams too: the first chunk arrives before the upstream has finished', async () => {
    for (const path of ['/untyped-slow', '//untyped-slow']) {
      const res = await fx.d.fetch(`/proxy/${raw.port}${path}`)
      expect(res.headers.get('content-type')).toBeNull()
      const reader = res.body!.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first\n')
      let rest = ''
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
      expect(rest).toBe('second\n')
    }
  })

  test('a response without a content-type gets none added, streamed or not', async () => {
    for (const path of ['/untyped', '/untyped-chunked']) {
      const res = await fx.d.fetch(`/proxy/${raw.port}${path}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBeNull()
      expect(await res.text()).toBe('raw')
    }
  })

  test('repeated Set-Cookie headers and a 204 without a body come back as sent', async () => {
    const res = await fx.d.fetch(`/proxy/${raw.port}/cookies`)
    expect(res.status).toBe(204)
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/'])
    expect(await res.text()).toBe('')
  })

  test('HEAD answers the upstream headers without a body', async () => {
    const res = await fx.d.fetch(`/proxy/${upstream.port}/head`, { method: 'HEAD' })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-upstream')).toBe('yes')
    expect(await res.text()).toBe('')
  })
})
