/** The proxy's findings (the tenth pass's, the relay's slots) as regression cases of the fuzz suite. */
import { existsSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { startDaemon } from '../harness'
import type { Finding } from './campaign'
import { expectStatus, framing, rawRequest, request } from './probe'
import type { World } from './world'

/** Bun's HTTP client sends 256 requests at once and queued the next one unanswered. */
const CLIENT_POOL = 256

/**
 * 256 proxied requests held by an upstream waiting for a body that never comes, then one more:
 * a 503 naming --max-proxy-requests at once (it waited for one of the 256 to end), and once the
 * callers leave, proxied requests are answered again.
 */
export async function proxyInFlight(w: World): Promise<Finding[]> {
  let arrived = 0
  let refused = 0
  const upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async req => (arrived++, new Response(await req.arrayBuffer())),
  })
  const port = new URL(w.daemon.url).port
  const sockets = Array.from({ length: CLIENT_POOL }, () => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    s.once('data', d => void (d.toString('latin1').startsWith('HTTP/1.1 503') && refused++))
    s.write(
      `POST /proxy/${upstream.port}/hold HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `X-EXECD-ACCESS-TOKEN: ${w.daemon.token}\r\nContent-Length: 10\r\n\r\n`,
    )
    return s
  })
  const op = 'GET /proxy/*'
  const input = `GET /proxy/${upstream.port}/x with ${CLIENT_POOL} proxied requests held by an unfinished body`
  try {
    // Each held request has reached the upstream or been refused before the one that must not wait.
    for (let i = 0; i < 600 && arrived + refused < CLIENT_POOL; i++) await Bun.sleep(50)
    const out = expectStatus(op, input, await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000), 503)
    for (const s of sockets) s.destroy()
    let again = await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000)
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await Bun.sleep(50)
      again = await request(w, 'GET', `/proxy/${upstream.port}/x`, undefined, 10_000)
    }
    return [...out, ...expectStatus(op, `${input}, after they left`, again, 200)]
  } finally {
    for (const s of sockets) s.destroy()
    upstream.stop(true)
  }
}

/**
 * Callers that leave while the upstream has not answered their WebSocket handshake (it accepts
 * and says nothing) give their relay slots back: with --max-proxy-websockets 2, two such callers
 * gone, a WebSocket to an echo upstream opens and echoes (it was a 503 for as long as the silent
 * upstream kept the connections), and execd has closed its connections to the silent one.
 */
export async function proxySocketsLeft(w: World): Promise<Finding[]> {
  const d = await startDaemon({
    args: ['--root', w.layout.root, '--python-spare', '0', '--log-level', 'warn', '--max-proxy-websockets', '2'],
  })
  let accepted = 0
  let closed = 0
  const silent = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: { open: () => void accepted++, close: () => void closed++, data() {} },
  })
  const echo = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response('no', { status: 426 })),
    websocket: { message: (ws, m) => void ws.send(m) },
  })
  const open = (port: number) =>
    new WebSocket(`${d.url.replace('http', 'ws')}/proxy/${port}/x`, {
      headers: { 'X-EXECD-ACCESS-TOKEN': d.token },
    } as unknown as string[])
  const op = 'GET /proxy/* (WebSocket)'
  const input = `two callers leave a WebSocket handshake the upstream never answers, with --max-proxy-websockets 2`
  try {
    const leaving = [open(silent.port), open(silent.port)]
    for (let i = 0; i < 200 && accepted < 2; i++) await Bun.sleep(50)
    for (const ws of leaving) ws.close()
    const out: Finding[] = []
    let why: string | null = 'not tried'
    for (let i = 0; i < 40 && why; i++) {
      const ws = open(echo.port!)
      why = await new Promise<string | null>(resolve => {
        ws.onopen = () => ws.send('echo')
        ws.onmessage = e => resolve(e.data === 'echo' ? null : `echoed ${String(e.data)}`)
        ws.onerror = () => resolve('refused (503: the slots still held)')
        setTimeout(() => resolve('no echo within 5 s'), 5000)
      })
      ws.close()
      if (why) await Bun.sleep(250)
    }
    if (why)
      out.push({ kind: 'hang', op, detail: `a WebSocket to an echo upstream afterwards: ${why}`, example: input })
    for (let i = 0; i < 100 && closed < accepted; i++) await Bun.sleep(50)
    if (closed < accepted)
      out.push({
        kind: 'hang',
        op,
        detail: `execd still holds ${accepted - closed} of its ${accepted} connections to the silent upstream`,
        example: input,
      })
    return out
  } finally {
    silent.stop(true)
    echo.stop(true)
    await d.stop()
  }
}

/**
 * Targets that reach a route other than the one they were sent beneath, by dot segments and
 * backslashes Bun's parser resolves (the nineteenth and twentieth passes): sent beneath
 * `/proxy/P/` and leaving it, or sent beneath no route and led under `/files` (nginx, matching
 * after decoding `%2F` and resolving, reads each of these as `/proxy/P/files`). Each is a 400,
 * with a Host and with an empty one, and the file it names stays; the upstream is never asked.
 */
export async function dotSegmentTargets(w: World): Promise<Finding[]> {
  let asked = 0
  const upstream = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => (asked++, new Response('app')) })
  const victim = join(w.layout.root, 'dot-segment-victim')
  writeFileSync(victim, 'keep me')
  const P = upstream.port
  const q = `?path=${encodeURIComponent(victim)}`
  const targets = [
    `/proxy/${P}/%2e%2e/%2e%2e/files${q}`,
    `/proxy/${P}/a/%2E%2e/.%2e/%2e./files${q}`,
    `/proxy/${P}\\..\\..\\files${q}`,
    `/a%2F%2e%2e%2Fproxy%2F${P}%2Fb%2Fc/%2e%2e/%2e%2e/files${q}`,
    `/proxy%2F${P}%2Fa%2Fb//%2e%2e/%2e%2e/files${q}`,
    `/%70roxy/${P}/a%2Fb%2Fc/%2e%2e/%2e%2e/%2e%2e/files${q}`,
    `/./proxy/${P}/%2e%2e/%2e%2e/files${q}`,
  ]
  const out: Finding[] = []
  try {
    for (const t of targets)
      for (const host of ['{self}', '']) {
        const input = `DELETE ${t} (Host ${host === '' ? 'empty' : 'as usual'})`
        out.push(...expectStatus('DELETE /files', input, await rawRequest(w, 'DELETE', t, framing(host)), 400))
        if (!existsSync(victim))
          return [...out, { kind: 'escape', op: 'DELETE /files', detail: 'the file it named is gone', example: input }]
      }
    if (asked)
      out.push({
        kind: 'contract',
        op: 'GET /proxy/*',
        detail: `the upstream was asked ${asked} times`,
        example: 'the targets above',
      })
    return out
  } finally {
    upstream.stop(true)
  }
}

/**
 * An upstream that answers `101 Switching Protocols` to a request that asked for no upgrade
 * (the twenty-first pass): on the `//` paths node:http took it for an upgrade, closed the socket
 * and emitted nothing more, and the caller waited unanswered whatever --proxy-response-timeout
 * said. Each path is a 502 at once (the limit here is the fuzz's own), GET and POST alike.
 */
export async function unaskedUpgrade(w: World): Promise<Finding[]> {
  const switcher = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data: s => void s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'),
    },
  })
  const out: Finding[] = []
  try {
    for (const path of [`/proxy/${switcher.port}/x`, `/proxy/${switcher.port}//x`])
      for (const [method, body] of [
        ['GET', undefined],
        ['POST', '{}'],
      ] as const) {
        const input = `${method} ${path}, the upstream answering 101 unasked`
        out.push(...expectStatus(`${method} /proxy/*`, input, await request(w, method, path, body, 10_000), 502))
      }
    return out
  } finally {
    switcher.stop(true)
  }
}

/**
 * An upstream that sends 1xx heads without end (the twenty-first pass): on the `//` paths
 * node:http handed each to JavaScript and execd's thread stayed busy until the caller left or
 * --proxy-response-timeout (5 min). A 502 at once, and /ping answers after it.
 */
export async function informationalFlood(w: World): Promise<Finding[]> {
  const heads = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n'.repeat(500)
  const informer = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: { data: s => void s.write(heads), drain: s => void s.write(heads) },
  })
  try {
    const path = `/proxy/${informer.port}//x`
    const input = `GET ${path}, the upstream sending 1xx heads without end`
    const out = expectStatus('GET /proxy/*', input, await request(w, 'GET', path, undefined, 10_000), 502)
    return [
      ...out,
      ...expectStatus('GET /ping', `GET /ping after ${input}`, await request(w, 'GET', '/ping', undefined, 5000), 200),
    ]
  } finally {
    informer.stop(true)
  }
}
