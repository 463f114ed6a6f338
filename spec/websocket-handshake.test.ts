/**
 * WebSocket handshakes execd answers itself. A Sec-WebSocket-Version other than 13 was Bun's
 * bare 426 (no JSON) on the terminal route and through the proxy, which had dialed the upstream
 * first for nothing; and a proxied handshake to an upstream that accepts the TCP and never
 * answers held its caller (and a relay slot) for as long as that upstream kept it open.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import { postJson, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { PtyClient } from './pty-client'
import { UPGRADE_HEADERS } from './kit/upgrade-headers'

// Through the environment, so the build before the option starts too (and waits, unbounded).
const fx = daemonAlone(() => ({ env: { EXECD_PROXY_HANDSHAKE_TIMEOUT_MS: '500', EXECD_MAX_PROXY_WEBSOCKETS: '1' } }))
let upstream: ReturnType<typeof Bun.serve>
/** Handshakes the WebSocket upstream has been asked to answer. */
let dialed = 0
/** A TCP server that accepts and never says a word, and the connections it holds. */
let silent: Server
const held = new Set<Socket>()

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req, server) => {
      dialed++
      return server.upgrade(req, { data: undefined }) ? undefined : new Response('no', { status: 400 })
    },
    websocket: { message: (ws, m) => void ws.send(m) },
  })
  silent = createServer(socket => {
    held.add(socket)
    // Reads (and drops) the handshake, so that execd's FIN is seen as the connection's end.
    socket.resume()
    socket.on('close', () => held.delete(socket)).on('error', () => {})
  })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  upstream?.stop(true)
  for (const socket of held) socket.destroy()
  silent?.close()
})

const silentPort = () => (silent.address() as { port: number }).port

/** A handshake as a client sends it, with `version` as its Sec-WebSocket-Version (null: none). */
const upgrade = (path: string, version: string | null = '13', signal?: AbortSignal) =>
  fx.d.fetch(path, {
    signal,
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      ...(version === null ? {} : { 'sec-websocket-version': version }),
    },
  })

/** A WebSocket through the proxy to the echoing upstream, once it is open. */
async function relayToEcho(): Promise<WebSocket> {
  const ws = new WebSocket(`${fx.d.url.replace('http', 'ws')}/proxy/${upstream.port}/ws`, {
    headers: { 'X-EXECD-ACCESS-TOKEN': fx.d.token },
  } as unknown as string[])
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  return ws
}

async function expectVersionRefused(res: Response, sent: string) {
  const body = await res.text()
  expect([res.status, res.headers.get('content-type')]).toEqual([400, 'application/json; charset=utf-8'])
  const error = JSON.parse(body)
  expect(error.code).toBe('INVALID_REQUEST_BODY')
  expect(error.message).toContain('Sec-WebSocket-Version must be 13')
  expect(error.message).toContain(sent)
  // RFC 6455 §4.4: the refusal names the version this server speaks.
  expect(res.headers.get('sec-websocket-version')).toBe('13')
}

test('through the proxy, a version other than 13 is a JSON 400 naming 13, and the upstream is never dialed', async () => {
  const before = dialed
  for (const [version, named] of [
    ['8', '"8"'],
    ['14', '"14"'],
    ['13, 8', '"13, 8"'],
    ['', '""'],
    [null, 'none'],
  ] as const)
    await expectVersionRefused(await upgrade(`/proxy/${upstream.port}/ws`, version), named)
  expect(dialed - before).toBe(0)
  // A version 13 handshake is still relayed.
  const ws = await relayToEcho()
  const echoed = new Promise(resolve => (ws.onmessage = e => resolve(e.data)))
  ws.send('hello')
  expect(await echoed).toBe('hello')
  ws.close()
  expect(dialed - before).toBe(1)
})

test('through the proxy, a handshake by another method than GET is a JSON 400, and the upstream is never dialed', async () => {
  const before = dialed
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await fx.d.fetch(`/proxy/${upstream.port}/ws`, {
      method,
      body: 'x',
      headers: UPGRADE_HEADERS,
    })
    expect({ method, status: res.status }).toEqual({ method, status: 400 })
    expect((await res.json()).message).toContain('it is a GET')
  }
  expect(dialed - before).toBe(0)
})

test('on a terminal, a version other than 13 is a JSON 400 naming 13, and the terminal can still be attached', async () => {
  const created = await postJson(fx.d, '/pty', {})
  const { session_id: id } = (await created.json()) as { session_id: string }
  try {
    await expectVersionRefused(await upgrade(`/pty/${id}/ws`, '8'), '"8"')
    await expectVersionRefused(await upgrade(`/pty/${id}/ws?takeover=1`, null), 'none')
    const client = await PtyClient.connect(fx.d, id)
    client.stdin('echo hand$((6*7))shake\n')
    await client.until('the echo', () => client.stdout.includes('hand42shake'))
    client.close()
  } finally {
    await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })
  }
})

test('an upstream that never answers the handshake: a JSON 502 after --proxy-handshake-timeout, its connection closed, the slot free', async () => {
  // A generous bound of the client's own, far past the daemon's 500 ms: the build before the
  // timeout never answered at all.
  const res = await upgrade(`/proxy/${silentPort()}/ws`, '13', AbortSignal.timeout(20_000))
  expect([res.status, res.headers.get('content-type')]).toEqual([502, 'application/json; charset=utf-8'])
  const error = await res.json()
  expect(error.code).toBe('BAD_GATEWAY')
  expect(error.message).toContain('--proxy-handshake-timeout')
  // execd's connection to the silent upstream is closed, not left for it to hold.
  await waitFor('the silent upstream to see execd leave', () => held.size === 0)
  // --max-proxy-websockets is 1: the one slot came back.
  const ws = await relayToEcho()
  ws.close()
  expect((await fx.d.fetch('/ping')).status).toBe(200)
}, 30_000)
