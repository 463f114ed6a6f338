/**
 * What arrives on the wire, through the compiled executable over raw sockets: methods and
 * framings a fetch client does not send.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { portOf, rawRequest } from './raw-http'

let port: number
// Two streams at most: a stream HEAD kept would show at once as a 503 on the next one.
const fx = daemonAlone(() => ['--max-streams', '2'])
beforeAll(() => {
  port = portOf(fx.d.url)
})

const auth = () => `X-EXECD-ACCESS-TOKEN: ${fx.d.token}`

describe('HEAD on a streaming route', () => {
  test('/metrics/watch answers its headers at once and gives its stream slot back', async () => {
    // Elysia answered HEAD by reading the GET's whole body for a Content-Length: an endless
    // stream never answered, and its slot stayed taken after the client left.
    for (let i = 0; i < 3; i++) {
      const reply = await rawRequest(port, `HEAD /metrics/watch HTTP/1.1\nHost: x\n${auth()}`, '', 1500)
      expect(reply.status).toBe(200)
      expect(reply.headers['content-type']).toBe('text/event-stream')
      expect(reply.body).toBe('')
    }
    const res = await fx.d.fetch('/metrics/watch')
    expect(res.status).toBe(200)
    await res.body?.cancel()
  })

  test('a running command’s events answer their headers, and the command goes on', async () => {
    const started = await fx.d.fetch('/command', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'sleep 30', background: true }),
    })
    const id = JSON.parse((await started.text()).split('data: ')[1]?.split('\n')[0] ?? '{}').text as string
    for (let i = 0; i < 3; i++) {
      const reply = await rawRequest(port, `HEAD /command/${id}/events HTTP/1.1\nHost: x\n${auth()}`, '', 1500)
      expect(reply.status).toBe(200)
      expect(reply.body).toBe('')
    }
    expect((await (await fx.d.fetch(`/command/status/${id}`)).json()).running).toBe(true)
    const other = await fx.d.fetch('/command', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'echo ok' }),
    })
    expect(await other.text()).toContain('execution_complete')
    await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })
  })

  test('a JSON route still answers its Content-Length without a body', async () => {
    const get = await fx.d.fetch('/code/contexts')
    const reply = await rawRequest(port, `HEAD /code/contexts HTTP/1.1\nHost: x\n${auth()}`, '', 1500)
    expect(reply.status).toBe(200)
    expect(reply.headers['content-length']).toBe(String((await get.text()).length))
    expect(reply.body).toBe('')
  })
})

describe('ids out of the range a process can take', () => {
  test('a command with uid or gid from 2^31 on is a 400 before it starts, not an error event', async () => {
    // The spawner takes ids up to 2^31 - 1: past that the stream began and its error event
    // quoted the runtime ("The value of \"uid\" is out of range. It must be >= -2147483648").
    for (const ids of [
      { uid: 2 ** 31 },
      { uid: 2 ** 32 - 1 },
      { uid: 65534, gid: 2 ** 31 },
      { uid: 65534, gid: 2 ** 32 - 1 },
    ]) {
      const res = await postJson(fx.d, '/command', { command: 'true', ...ids })
      expect({ ids, status: res.status }).toEqual({ ids, status: 400 })
      const err = await res.json()
      expect(err.code).toBe('INVALID_REQUEST_BODY')
      expect(err.message).toContain('2147483647')
    }
  })
})

describe('a WebSocket handshake whose Sec-WebSocket-Key Bun will not take', () => {
  // Missing, or not 16 bytes in base64: Bun's upgrade refuses it, and the terminal answered 500
  // "WebSocket upgrade failed"; the proxy dialed the upstream first, then answered 502.
  const handshake = (path: string, key?: string) =>
    `GET ${path} HTTP/1.1\nHost: 127.0.0.1\n${auth()}\nUpgrade: websocket\nConnection: Upgrade\n` +
    `Sec-WebSocket-Version: 13${key === undefined ? '' : `\nSec-WebSocket-Key: ${key}`}`

  test('is a 400 on a terminal, which still takes a client after it', async () => {
    const id = (await (await postJson(fx.d, '/pty', { command: 'exec sleep 600' })).json()).session_id
    try {
      for (const key of [undefined, 'x', 'YWJj', '!!!!!!!!!!!!!!!!!!!!!!==']) {
        const reply = await rawRequest(port, handshake(`/pty/${id}/ws`, key), '', 1500, true)
        expect({ key, status: reply.status }).toEqual({ key, status: 400 })
        expect(JSON.parse(reply.body).code).toBe('INVALID_REQUEST_BODY')
      }
      const good = await rawRequest(port, handshake(`/pty/${id}/ws`, 'dGhlIHNhbXBsZSBub25jZQ=='), '', 500)
      expect(good.status).toBe(101)
    } finally {
      await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })
    }
  })

  test('is a 400 from the proxy, and the upstream is never dialed', async () => {
    let dialed = 0
    const upstream = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req, server) => {
        dialed++
        return server.upgrade(req) ? undefined : new Response('no', { status: 400 })
      },
      websocket: { message() {} },
    })
    try {
      for (const key of [undefined, 'x']) {
        const reply = await rawRequest(port, handshake(`/proxy/${upstream.port}/`, key), '', 1500, true)
        expect({ key, status: reply.status }).toEqual({ key, status: 400 })
        expect(JSON.parse(reply.body).code).toBe('INVALID_REQUEST_BODY')
      }
      expect(dialed).toBe(0)
    } finally {
      upstream.stop(true)
    }
  })
})
