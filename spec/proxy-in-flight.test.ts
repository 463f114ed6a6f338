/**
 * Proxied requests in flight are capped below Bun's HTTP client's own limit (256, past which it
 * queues requests unanswered): past the cap a 503 that names --max-proxy-requests, never a
 * request left waiting on others — 256 calls to an upstream that answers slowly held every
 * later proxied request, and without a token a chain through execd's own port 257 deep waited
 * on itself until its caller gave up. A slot comes back when the answer is relayed or the
 * caller goes away.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { askHeld } from './fuzz/quiescence'
import { type Daemon, runCli, startDaemon, waitFor } from './harness'
import { logLine } from './kit/log-line'

/** An upstream that holds /hold until `open()`; anything else answers at once. */
let upstream: ReturnType<typeof Bun.serve>
let held = 0
let gate = Promise.withResolvers<void>()
const open = () => {
  gate.resolve()
  gate = Promise.withResolvers<void>()
}

beforeAll(() => {
  upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      if (new URL(req.url).pathname !== '/hold') return new Response('fast')
      held++
      await gate.promise
      return new Response('held')
    },
  })
})
afterAll(() => {
  open()
  upstream.stop(true)
})

/**
 * `n` proxied GETs of /hold on raw sockets (the test's own fetch has the same 256 limit);
 * resolves once each has either reached the upstream or been answered by execd.
 */
async function hold(d: Daemon, n: number): Promise<{ sockets: Socket[]; refused: () => number }> {
  const port = new URL(d.url).port
  const before = held
  let refused = 0
  const sockets = Array.from({ length: n }, () => {
    const s = connect(Number(port), '127.0.0.1')
    let first = true
    s.on('data', chunk => {
      if (first && chunk.toString('latin1').startsWith('HTTP/1.1 503')) refused++
      first = false
    })
    s.on('error', () => {})
    s.write(
      `GET /proxy/${upstream.port}/hold HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        (d.token ? `X-EXECD-ACCESS-TOKEN: ${d.token}\r\n` : '') +
        '\r\n',
    )
    return s
  })
  await waitFor(`${n} proxied requests held or refused`, () => held - before + refused === n, 30_000)
  return { sockets, refused: () => refused }
}

const fast = (d: Daemon) =>
  d
    .fetch(`/proxy/${upstream.port}/fast`, { signal: AbortSignal.timeout(20_000) })
    .then(async r => ({ status: r.status, body: await r.text() }))
    .catch(e => ({ status: 0, body: `no answer: ${e}` }))

describe('proxied requests in flight', () => {
  test('with 256 held by a slow upstream, another proxied request is a 503 naming the limit, not a wait', async () => {
    const d = await startDaemon()
    try {
      const { sockets, refused } = await hold(d, 256)
      const answer = await fast(d)
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body)).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringContaining('--max-proxy-requests'),
      })
      expect(refused()).toBe(256 - 128)
      open()
      // Relayed whole, each slot is given back.
      await waitFor('a proxied request answered again', async () => (await fast(d)).status === 200)
      for (const s of sockets) s.destroy()
    } finally {
      await d.stop()
    }
  }, 90_000)

  test('a caller that goes away gives its slot back; the refusal logs who held the pool', async () => {
    const d = await startDaemon({ args: ['--max-proxy-requests', '4'] })
    try {
      const { sockets } = await hold(d, 4)
      expect((await fast(d)).status).toBe(503)
      const refusal = await logLine(d, ['"msg":"request refused"'])
      expect(refusal.held).toMatchObject({
        what: 'proxied requests in flight',
        max: 4,
        held: 4,
        byKind: { [`port ${upstream.port}`]: 4 },
      })
      for (const s of sockets) s.destroy()
      await waitFor('a proxied request answered again', async () => (await fast(d)).status === 200)
      const pools = (await askHeld(d))?.pools ?? []
      expect(pools.find(p => p.what === 'proxied requests in flight')).toMatchObject({ held: 0 })
    } finally {
      open()
      await d.stop()
    }
  }, 60_000)

  test('without a token, a chain through its own port 300 deep is answered', async () => {
    const d = await startDaemon({ token: null })
    try {
      const port = new URL(d.url).port
      const res = await fetch(`${d.url}/${`proxy/${port}/`.repeat(300)}ping`, { signal: AbortSignal.timeout(20_000) })
        .then(r => r.status)
        .catch(e => `no answer: ${e}`)
      expect(res).toBe(503)
      expect((await d.fetch('/ping')).status).toBe(200)
    } finally {
      await d.stop()
    }
  }, 60_000)

  test('--max-proxy-requests is from 1 to 240: 0 (no limit) or more would let requests wait unanswered', async () => {
    for (const value of ['0', '241']) {
      const run = await runCli(['serve', '--port', '0', '--max-proxy-requests', value])
      expect(run.code).not.toBe(0)
      expect(run.stderr).toContain('--max-proxy-requests must be from 1 to 240')
    }
  }, 60_000)
})
