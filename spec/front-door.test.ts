/**
 * What every request meets before a route (issues 10.7, 10.8, 10.10, 10.14, 10.15, 17.1, 17.2,
 * 17.4), through the compiled executable: raw sockets where fetch cannot say it.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { BIN, freePort, postJson, startDaemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { documentedStatuses } from './kit/documented'
import { portOf, rawRequest } from './raw-http'

let port: number
const fx = daemonAlone()
beforeAll(() => {
  port = portOf(fx.d.url)
})

const auth = () => `X-EXECD-ACCESS-TOKEN: ${fx.d.token}`
const expectJsonError = (reply: { headers: Record<string, string>; body: string }, code: string) => {
  expect(reply.headers['content-type']).toStartWith('application/json')
  expect(JSON.parse(reply.body).code).toBe(code)
}

describe('an unusable Host header', () => {
  for (const host of ['Host:', 'Host: a b']) {
    test(`'${host}' over HTTP/1.0 is answered in JSON, 401 before anything else without the token`, async () => {
      const bare = await rawRequest(port, `POST /command HTTP/1.0\n${host}\nContent-Length: 2`, '{}')
      expect(bare.status).toBe(401)
      expect(bare.headers['content-type']).toStartWith('application/json')
      const authed = await rawRequest(port, `POST /command HTTP/1.0\n${host}\n${auth()}\nContent-Length: 2`, '{}')
      expect(authed.status).toBe(400)
      expectJsonError(authed, 'INVALID_REQUEST_BODY')
      expect(authed.body).not.toContain('<')
    })
  }

  test('a short Host without a port routes by the real path', async () => {
    const short = await rawRequest(port, `GET /metrics HTTP/1.1\nHost: x\n${auth()}\nConnection: close`)
    expect(short.status).toBe(200)
    expect(JSON.parse(short.body).cpu_count).toBeGreaterThan(0)
    const prefixed = await rawRequest(port, `GET /ab/metrics HTTP/1.1\nHost: ab\n${auth()}\nConnection: close`)
    expect(prefixed.status).toBe(404)
    expectJsonError(prefixed, 'NOT_FOUND')
  })
})

describe('connections', () => {
  test('a refused request that announced a body gets 401 and its connection is closed', async () => {
    const reply = await rawRequest(port, 'POST /command HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 100000000')
    expect(reply.status).toBe(401)
    expect(reply.closed).toBe(true)
  })

  test('300 such connections under a 256-fd limit do not keep authenticated requests out', async () => {
    const own = await freePort()
    const token = `t-${crypto.randomUUID()}`
    const proc = Bun.spawn(
      ['bash', '-c', `ulimit -n 256; exec "$0" serve --port ${own} --host 127.0.0.1 --access-token ${token}`, BIN],
      { stdout: 'ignore', stderr: 'ignore', env: { ...process.env, EXECD_ACCESS_TOKEN: '' } },
    )
    try {
      const ping = () =>
        fetch(`http://127.0.0.1:${own}/ping`, {
          headers: { 'X-EXECD-ACCESS-TOKEN': token },
          signal: AbortSignal.timeout(2000),
        }).then(
          r => r.status,
          () => 0,
        )
      for (let i = 0; i < 400 && (await ping()) !== 200; i++) await Bun.sleep(25)
      const replies = await Promise.all(
        Array.from({ length: 300 }, () =>
          rawRequest(own, 'POST /command HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 100000000', '', 5000).catch(() => ({
            status: 0,
            closed: false,
          })),
        ),
      )
      expect(replies.filter(r => r.status === 401 && r.closed).length).toBe(300)
      expect(await ping()).toBe(200)
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
    }
  })

  test('past --max-requests in flight (streams count) a request gets 503 JSON; a freed slot serves again', async () => {
    const own = await startDaemon({ args: ['--max-requests', '3'] })
    try {
      const streams = Array.from({ length: 3 }, () => new AbortController())
      const responses = await Promise.all(streams.map(c => own.fetch('/metrics/watch', { signal: c.signal })))
      expect(responses.map(r => r.status)).toEqual([200, 200, 200])
      const refused = await own.fetch('/ping')
      expect(refused.status).toBe(503)
      expect((await refused.json()).message).toContain('--max-requests')
      streams[0]?.abort()
      let status = 0
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await own.fetch('/ping')).status
        if (status !== 200) await Bun.sleep(20)
      }
      expect(status).toBe(200)
      for (const c of streams) c.abort()
    } finally {
      await own.stop()
    }
  })

  test('a request line and headers over 64 KiB get a JSON 431, a long URL under it is served', async () => {
    const big = await rawRequest(port, `GET /ping?q=${'a'.repeat(64 * 1024)} HTTP/1.1\nHost: 127.0.0.1\n${auth()}`)
    expect(big.status).toBe(431)
    expectJsonError(big, 'HEADERS_TOO_LARGE')
    const fine = await rawRequest(
      port,
      `GET /ping?q=${'a'.repeat(32 * 1024)} HTTP/1.1\nHost: 127.0.0.1\n${auth()}\nConnection: close`,
    )
    expect(fine.status).toBe(200)
    // Answered before any route: every operation lists it, /ping's and a stream's alike.
    expect(await documentedStatuses(fx.d, 'GET', '/ping')).toContain('431')
    expect(await documentedStatuses(fx.d, 'POST', '/command')).toContain('431')
  })

  test('a head far above the native limit still gets JSON from us, up to 1 MiB', async () => {
    const header = `X-Big: ${'b'.repeat(900 * 1024)}`
    const reply = await rawRequest(port, `GET /ping HTTP/1.1\nHost: 127.0.0.1\n${auth()}\n${header}`)
    expect(reply.status).toBe(431)
    expectJsonError(reply, 'HEADERS_TOO_LARGE')
  })
})

describe('JSON bodies', () => {
  test('a body over --max-json-bytes is 413 JSON before it all arrives', async () => {
    const own = await startDaemon({ args: ['--max-json-bytes', '1024'] })
    try {
      const head = `POST /command HTTP/1.1\nHost: 127.0.0.1\nX-EXECD-ACCESS-TOKEN: ${own.token}\nContent-Length: 536870912`
      const reply = await rawRequest(portOf(own.url), head, `{"command":"${'x'.repeat(256 * 1024)}`)
      expect(reply.status).toBe(413)
      expectJsonError(reply, 'PAYLOAD_TOO_LARGE')
      expect(reply.closed).toBe(true)
      const small = await postJson(own, '/command', { command: 'echo small' })
      expect(small.status).toBe(200)
      await small.text()
    } finally {
      await own.stop()
    }
  })

  test('multipart uploads are not JSON bodies: larger than --max-json-bytes is fine', async () => {
    const own = await startDaemon({ args: ['--max-json-bytes', '1024'] })
    try {
      const dir = `/tmp/execd-front-${crypto.randomUUID()}`
      const form = new FormData()
      form.append('metadata', new Blob([JSON.stringify({ path: `${dir}/f.bin` })]), 'metadata')
      form.append('file', new Blob([new Uint8Array(64 * 1024)]), 'f.bin')
      const res = await own.fetch('/files/upload', { method: 'POST', body: form })
      expect(res.status).toBe(200)
      expect(Bun.file(`${dir}/f.bin`).size).toBe(64 * 1024)
      await Bun.$`rm -rf ${dir}`.quiet()
    } finally {
      await own.stop()
    }
  })

  /** A `POST /command` framed so, whose body stops arriving after `sent`. */
  const expectStalledBodyRefused = async (framing: string, sent: string) => {
    const own = await startDaemon({ args: ['--body-timeout', '300'] })
    try {
      const head = `POST /command HTTP/1.1\nHost: 127.0.0.1\nX-EXECD-ACCESS-TOKEN: ${own.token}\n${framing}`
      const reply = await rawRequest(portOf(own.url), head, sent, 5000)
      expect(reply.status).toBe(408)
      expectJsonError(reply, 'REQUEST_TIMEOUT')
      expect(reply.closed).toBe(true)
    } finally {
      await own.stop()
    }
  }

  test('a chunked body that stops arriving is a 408 after --body-timeout and the connection closes', () =>
    expectStalledBodyRefused('Transfer-Encoding: chunked', 'b\r\n{"command":\r\n'))

  test('a body that stops arriving is a 408 after --body-timeout and the connection closes', () =>
    expectStalledBodyRefused('Content-Length: 100', '{"command":'))
})
