import { afterAll, describe, expect, test } from 'bun:test'
import type { Server, Socket } from 'bun'
import { closeSync } from 'node:fs'
import { heldConnection, heldConnectionSoon, passesMade, sockets, type Sockets } from './connection-fd'

/** The peer port of the connection `fd` is (the client's own port), by getpeername. */
function peerPort(s: Sockets, fd: number): number {
  const address = new Uint8Array(128)
  const length = new Uint32Array([128])
  if (s.getpeername(fd, address, length) !== 0) return -1
  return (address[2]! << 8) | address[3]!
}

/** What the handler does with a request's connection before it answers: its peer port, or -1. */
let onRequest: (request: Request, server: Server<undefined>) => Promise<number> | number = () => -1
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: async (request, srv) => new Response(String(await onRequest(request, srv))),
})
afterAll(() => server.stop(true))

const found = (held: { fd: number; s: Sockets } | undefined): number => {
  if (!held) return -1
  const port = peerPort(held.s, held.fd)
  closeSync(held.fd)
  return port
}

/** A raw keep-alive connection: `ask()` sends a GET and resolves with the answer's body. */
async function connect(): Promise<{ socket: Socket<undefined>; ask(): Promise<string> }> {
  let got = ''
  let wake = () => {}
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: server.port!,
    socket: {
      data(_s, bytes) {
        got += bytes.toString()
        wake()
      },
    },
  })
  return {
    socket,
    async ask() {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      for (;;) {
        const end = got.indexOf('\r\n\r\n') + 4
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(got.slice(0, end))?.[1])
        if (end >= 4 && got.length >= end + length) {
          const body = got.slice(end, end + length)
          got = ''
          return body
        }
        await new Promise<void>(resolve => (wake = resolve))
      }
    },
  }
}

test('every call the Sockets type names is loaded (a cast hides one left out of the definitions)', () => {
  const calls = ['getsockname', 'getpeername', 'connect', 'shutdown', 'ioctl', 'fcntl', 'getsockopt'] as const
  const s = sockets()
  expect(s).not.toBeNull()
  expect(calls.filter(name => typeof s![name] !== 'function')).toEqual([])
})

describe('heldConnection', () => {
  test("a request's connection is found, and on its next request without a pass over the descriptors", async () => {
    onRequest = (request, srv) => found(heldConnection({ request, server: srv }))
    const c = await connect()
    expect(await c.ask()).toBe(String(c.socket.localPort))
    const passes = passesMade()
    expect(await c.ask()).toBe(String(c.socket.localPort))
    expect(passesMade()).toBe(passes)
    c.socket.end()
  })

  test('a connection that took the number of one gone since is told apart from it', async () => {
    onRequest = (request, srv) => found(heldConnection({ request, server: srv }))
    for (let i = 0; i < 5; i++) {
      const c = await connect()
      expect(await c.ask()).toBe(String(c.socket.localPort))
      c.socket.end()
    }
  })

  test('requests waiting at once share one pass, its slices between turns of the loop', async () => {
    const n = 5
    let arrived = 0
    let all = () => {}
    const together = new Promise<void>(resolve => (all = resolve))
    onRequest = async (request, srv) => {
      const since = performance.now()
      if (++arrived === n) all()
      await together
      return found(await heldConnectionSoon({ request, server: srv }, since))
    }
    const conns = await Promise.all(Array.from({ length: n }, connect))
    const passes = passesMade()
    const ports = await Promise.all(conns.map(c => c.ask()))
    expect(ports).toEqual(conns.map(c => String(c.socket.localPort)))
    expect(passesMade()).toBe(passes + 1)
    for (const c of conns) c.socket.end()
  })
})
