/**
 * The proxy's WebSocket relay under hostile clients and lying upstreams. Clients speak raw TCP
 * (the frames a WebSocket library never sends): fragments with a ping between them, control
 * frames too long or fragmented, close codes and reasons a peer must not send, a header
 * announcing a terabyte, a real frame past 16 MiB, unmasked frames, reserved bits and opcodes,
 * a FIN with no close frame, a caller leaving mid-handshake, one that never reads a flood, a
 * handshake of a version Bun does not upgrade; every other one offers subprotocols.
 * Upstreams (ws-upstreams.ts): an echo, one that closes with a code, one that dies after a
 * frame, a flood, one that accepts and never answers the handshake, one that answers it with a
 * wrong key, one that refuses the upgrade, one that sends a frame no server may. Each runs
 * against a daemon of the race's own that allows 4 relays, so a relay whose slot is never given
 * back shows within a case: afterwards a plain WebSocket through the proxy must open and echo.
 * Every handshake answer is a 101 or the contract's JSON error.
 */
import { connect, type Socket } from 'node:net'
import { type Daemon, startDaemon } from '../harness'
import type { Violation } from './check'
import type { RaceCase, RaceName } from './races'
import { LIMIT_MS } from './races-kit'
import type { World } from './world'
import { closeBody, frame, text } from './ws-frames'
import { BACKENDS, openUpstreams, pathTo, type Upstreams } from './ws-upstreams'

/** What a client does once its handshake is sent. */
const CLIENTS = [
  'fragments',
  'long-control',
  'bad-close',
  'claims-terabyte',
  'over-16mib',
  'unmasked',
  'half-open',
  'leaves-mid-handshake',
  'never-reads',
  'bad-version',
] as const
type Client = (typeof CLIENTS)[number]

const BAD_CLOSE = [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535]

function script(client: Client, i: number): { frames: Buffer[]; end: 'close' | 'fin' | 'destroy' | 'stay' } {
  switch (client) {
    case 'fragments':
      return {
        frames: [
          frame(0x1, text('frag-'), { fin: false }),
          frame(0x9, text('between')),
          frame(0x0, text('ment'), { fin: false }),
          frame(0x0, text('ed')),
          frame(0x2, new Uint8Array([0xff, 0xfe]), { fin: false }),
          frame(0x1, text('a text frame inside a binary message')),
          frame(0x8, closeBody(1000)),
        ],
        end: 'close',
      }
    case 'long-control':
      return {
        frames: [frame(0x9, new Uint8Array(200)), frame(0x9, text('x'), { fin: false }), frame(0xa, text('pong'))],
        end: 'close',
      }
    case 'bad-close': {
      const reason = i % 2 ? new Uint8Array([0xc0, 0xaf, 0xff]) : text('r'.repeat(200))
      const body = i % 3 === 2 ? new Uint8Array([0x03]) : closeBody(BAD_CLOSE[i % BAD_CLOSE.length]!, reason)
      return { frames: [frame(0x1, text('before')), frame(0x8, body)], end: 'close' }
    }
    case 'claims-terabyte':
      return { frames: [frame(0x2, new Uint8Array(1000), { claim: 2 ** 40 })], end: 'fin' }
    case 'over-16mib':
      return { frames: [frame(0x2, new Uint8Array((17 << 20) + 1))], end: 'close' }
    case 'unmasked':
      return {
        frames: [
          frame(0x1, text('unmasked'), { mask: false }),
          frame(0x1, text('rsv'), { rsv: 7 }),
          frame(0x3, text('op3')),
        ],
        end: 'close',
      }
    case 'half-open':
      return { frames: [frame(0x1, text('then a FIN'))], end: 'fin' }
    case 'leaves-mid-handshake':
      return { frames: [], end: 'destroy' }
    case 'bad-version':
      return { frames: [], end: 'close' }
    case 'never-reads':
      return { frames: [frame(0x1, text('go'))], end: 'stay' }
  }
}

interface Outcome {
  /** The status line, or what cut the handshake short. */
  status: string
  body: string
  /** The answer's header lines. */
  head?: string
}

/** One raw client: handshake, its frames, its ending; what execd answered the handshake with. */
function runClient(d: Daemon, path: string, client: Client, i: number, giveUpMs: number): Promise<Outcome> {
  const port = Number(new URL(d.url).port)
  const { frames, end } = script(client, i)
  return new Promise<Outcome>(resolve => {
    let got = Buffer.alloc(0)
    let settled = false
    const s: Socket = connect(port, '127.0.0.1')
    const finish = (o: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // A client that never reads keeps its socket until the case's end: the flood fills it.
      setTimeout(() => s.destroy(), end === 'stay' ? 3000 : 300)
      resolve(o)
    }
    const timer = setTimeout(() => finish({ status: 'no handshake answer', body: '' }), giveUpMs)
    s.on('error', e => finish({ status: got.length ? got.toString('latin1', 0, 40) : `error ${e.message}`, body: '' }))
    s.on('close', () => finish({ status: got.length ? got.toString('latin1', 0, 40) : 'closed unanswered', body: '' }))
    s.on('data', (chunk: Buffer) => {
      if (settled) return
      got = Buffer.concat([got, chunk])
      const head = got.indexOf('\r\n\r\n')
      if (head < 0) return
      const status = got.toString('latin1', 0, got.indexOf('\r\n'))
      if (!status.includes(' 101 ')) {
        const len = Number(/content-length:\s*(\d+)/i.exec(got.toString('latin1', 0, head))?.[1] ?? 0)
        if (got.length < head + 4 + len) return
        return finish({
          status,
          body: got.toString('utf8', head + 4, head + 4 + len),
          head: got.toString('latin1', 0, head),
        })
      }
      if (end === 'stay') s.pause()
      for (const f of frames) s.write(f)
      if (end === 'fin') s.end()
      finish({ status, body: '' })
    })
    s.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')}\r\n` +
        // A version Bun does not upgrade (the upstream answered first); subprotocols on every other.
        `Sec-WebSocket-Version: ${client === 'bad-version' ? 8 : 13}\r\n` +
        (i % 2 ? 'Sec-WebSocket-Protocol: chat, , superchat\r\n' : '') +
        `X-EXECD-ACCESS-TOKEN: ${d.token}\r\n\r\n`,
    )
    if (end === 'destroy') setTimeout(() => (s.destroy(), finish({ status: 'left', body: '' })), 200)
  })
}

/** A plain WebSocket through the proxy to the echo upstream: it opens and echoes, or why not. */
async function echoes(d: Daemon, port: number): Promise<string | null> {
  const ws = new WebSocket(`${d.url.replace('http', 'ws')}/proxy/${port}/echo`, {
    headers: { 'X-EXECD-ACCESS-TOKEN': d.token },
  } as unknown as string[])
  try {
    return await new Promise<string | null>(resolve => {
      ws.onopen = () => ws.send('ping through the proxy')
      ws.onmessage = e => resolve(e.data === 'ping through the proxy' ? null : `echoed ${String(e.data).slice(0, 40)}`)
      ws.onerror = () => resolve('refused')
      ws.onclose = e => resolve(`closed ${e.code}`)
      setTimeout(() => resolve('no echo within 5 s'), 5000)
    })
  } finally {
    ws.close()
  }
}

let daemon: Promise<Daemon> | undefined
let upstreams: Upstreams | undefined
const relayDaemon = (w: World): Promise<Daemon> =>
  (daemon ??= startDaemon({
    args: ['--root', w.layout.root, '--python-spare', '0', '--log-level', 'warn', '--max-proxy-websockets', '4'],
    env: { TMPDIR: w.tmp },
  }))

/** The daemon, once started: the quiescence check asks it too. */
export const proxyWsDaemonStarted = (): Promise<Daemon | undefined> =>
  daemon?.catch(() => undefined) ?? Promise.resolve(undefined)

/** Stops the relay's daemon and upstreams (main.ts and the suite call it at their end). */
export async function stopProxyWsDaemon(): Promise<void> {
  const d = await daemon?.catch(() => undefined)
  daemon = undefined
  upstreams?.stop()
  upstreams = undefined
  if (d && d.proc.exitCode === null) await d.stop()
}

export const PROXY_WS_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  /**
   * Clients (one per op, n of each when n = 4: many at once) through the relay to one of the
   * upstreams, all at once; then the relay must still take a WebSocket and echo it.
   */
  'proxy-ws-hostile': async (c, w) => {
    const d = await relayDaemon(w)
    upstreams ??= openUpstreams()
    const up = upstreams
    const backend = BACKENDS[(c.delayMs + c.n) % BACKENDS.length]!
    const clients = c.ops.map((op, i) => CLIENTS[(op.length + i * 5 + c.kib + c.delayMs) % CLIENTS.length]!)
    const copies = c.n === 4 ? 3 : 1
    const path = pathTo(up, backend, c)
    const runs = clients.flatMap((cl, i) =>
      Array.from({ length: copies }, (_, k) =>
        // Callers of the silent upstream give up after a while: the slots they held must come back.
        runClient(d, path, cl, i * copies + k, backend === 'silent' ? 1500 : LIMIT_MS).then(o => ({ cl, o })),
      ),
    )
    const out: Violation[] = []
    const label = `proxy WS to a ${backend} upstream`
    for (const { cl, o } of await Promise.all(runs)) {
      // A version it does not speak is never relayed: execd's JSON 400 (before any dial) names 13
      // (RFC 6455 §4.4); a full relay cap may answer first (503).
      if (
        cl === 'bad-version' &&
        /^HTTP\/1\.1 (101|400) /.test(o.status) &&
        !/sec-websocket-version: 13/i.test(o.head ?? '')
      )
        out.push({ kind: 'contract', detail: `${label}, client ${cl}: ${o.status} without Sec-WebSocket-Version: 13` })
      if (o.status.includes(' 101 ') || o.status === 'left') continue
      if (o.status === 'no handshake answer' && backend === 'silent') continue // the caller's own wait
      const code = Number(/^HTTP\/1\.1 (\d{3})/.exec(o.status)?.[1] ?? 0)
      let shape = ''
      try {
        const j = JSON.parse(o.body)
        if (typeof j.code !== 'string' || typeof j.message !== 'string') shape = 'not {code, message}'
      } catch {
        shape = `body not JSON: ${JSON.stringify(o.body.slice(0, 60))}`
      }
      if (!code) out.push({ kind: 'ws', detail: `${label}, client ${cl}: ${o.status}` })
      else if (shape) out.push({ kind: 'error-shape', detail: `${label}, client ${cl}: ${o.status}: ${shape}` })
      else if (![400, 502, 503].includes(code))
        out.push({ kind: 'contract', detail: `${label}, client ${cl}: ${o.status} ${o.body.slice(0, 120)}` })
    }
    if (d.proc.exitCode !== null) {
      daemon = undefined
      return [
        ...out,
        { kind: 'crash', detail: `${label}: the relay's daemon exited ${d.proc.exitCode}: ${d.logs().slice(-400)}` },
      ]
    }
    // Every client has left: their slots come back as execd sees each close.
    let why = await echoes(d, up.ws)
    for (let t = Date.now(); why && Date.now() - t < LIMIT_MS;) {
      await Bun.sleep(250)
      why = await echoes(d, up.ws)
    }
    if (why)
      out.push({
        kind: 'hang',
        detail: `${label} (clients ${[...new Set(clients)].join(',')}): afterwards a WebSocket through the proxy: ${why}`,
      })
    return out
  },
}
