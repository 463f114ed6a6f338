/**
 * The upstreams the proxy's WebSocket relay is raced against (spec/fuzz/races-proxy-ws.ts): an
 * echo, one that closes with a code, one that dies after a frame, a flood, one that refuses the
 * upgrade (one Bun server, by path); one that accepts and never answers the handshake, one that
 * answers it with a wrong key, one that sends frames no server may (raw listeners).
 */
import type { RaceCase } from './races'
import { accept, frame, text } from './ws-frames'

/** What the upstreams do, by path (the silent, lying and garbage ones are raw listeners). */
export const BACKENDS = ['echo', 'close', 'die', 'flood', 'silent', 'liar', 'refuse', 'garbage'] as const
export type Backend = (typeof BACKENDS)[number]

export interface Upstreams {
  ws: number
  silent: number
  liar: number
  garbage: number
  stop(): void
}

export function openUpstreams(): Upstreams {
  const ws = Bun.serve<{ path: string }>({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req, server) {
      const path = new URL(req.url).pathname
      if (path.startsWith('/refuse')) return new Response('no upgrade here', { status: 400 })
      // A subprotocol offered is answered with the last one, as a server picks what it speaks.
      const offered = req.headers
        .get('sec-websocket-protocol')
        ?.split(',')
        .map(p => p.trim())
        .filter(Boolean)
      const headers = offered?.length ? { 'sec-websocket-protocol': offered.at(-1)! } : undefined
      if (server.upgrade(req, { data: { path }, headers })) return undefined
      return new Response('not a websocket', { status: 426 })
    },
    websocket: {
      maxPayloadLength: 32 << 20,
      open(s) {
        const p = s.data.path
        if (p.startsWith('/close/')) s.close(Number(p.slice(7)) || 1000, 'upstream closes')
        else if (p === '/flood') {
          const chunk = new Uint8Array(256 << 10)
          const pump = () => {
            for (let i = 0; i < 64 && s.readyState === 1; i++) if (s.sendBinary(chunk) === -1) return
            if (s.readyState === 1) setTimeout(pump, 5)
          }
          pump()
        }
      },
      message(s, m) {
        if (s.data.path === '/die') return s.terminate()
        s.send(m)
      },
    },
  })
  const raw = (answer: (key: string) => Buffer | null) =>
    Bun.listen<{ got: string }>({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(s) {
          s.data = { got: '' }
        },
        data(s, d) {
          if (s.data.got === 'done') return
          s.data.got += d.toString()
          if (!s.data.got.includes('\r\n\r\n')) return
          const key = /sec-websocket-key:\s*(\S+)/i.exec(s.data.got)?.[1] ?? ''
          s.data.got = 'done'
          const a = answer(key)
          if (a) s.write(a)
        },
      },
    })
  const handshake = (k: string) =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${k}\r\n\r\n`
  const silent = raw(() => null)
  const liar = raw(() => Buffer.from(`${handshake('bm90IHRoZSBrZXk=')}\x81\x05hello`))
  // A masked frame from a server, an unknown opcode, then a length no one will send.
  const garbage = raw(key =>
    Buffer.concat([
      Buffer.from(handshake(accept(key))),
      frame(0x1, text('masked')),
      Buffer.from([0x83, 0x00]),
      Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]),
  )
  return {
    ws: ws.port!,
    silent: silent.port,
    liar: liar.port,
    garbage: garbage.port,
    stop() {
      ws.stop(true)
      for (const l of [silent, liar, garbage]) l.stop(true)
    },
  }
}

/** The proxy path that reaches backend `b` (a closing one with a code the case picks). */
export const pathTo = (up: Upstreams, b: Backend, c: RaceCase): string => {
  switch (b) {
    case 'silent':
      return `/proxy/${up.silent}/x`
    case 'liar':
      return `/proxy/${up.liar}/x`
    case 'garbage':
      return `/proxy/${up.garbage}/x`
    case 'close':
      return `/proxy/${up.ws}/close/${[1000, 1001, 1011, 3000, 4999, 1005, 1006, 999][c.kib % 8]}`
    default:
      return `/proxy/${up.ws}/${b}`
  }
}
