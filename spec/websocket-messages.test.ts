/**
 * The size of a message a WebSocket client may send. Bun holds a message's fragments until its
 * last one arrives, up to its maxPayloadLength (16 MiB unless set), per socket: 20 terminals'
 * clients each sending 15 MiB of a message they never finish held +309 MiB of execd, and
 * terminals and proxied relays together (64 + 256 sockets) could hold 5 GiB. Past
 * --max-websocket-message (1 MiB) Bun closes the socket with 1009 (message too big).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { postJson, startDaemon, type Daemon } from './harness'
import { anonMiB } from './kit/anon'
import { FragmentingSocket } from './kit/ws-fragments'
import { portOf } from './raw-http'
import { wsEchoServer } from './kit/ws-echo'

let upstream: ReturnType<typeof Bun.serve>
beforeAll(() => {
  upstream = wsEchoServer(64 << 20)
})
afterAll(() => upstream?.stop(true))

test('messages 20 terminals never finish are cut at 1 MiB with 1009, not held whole', async () => {
  const d = await startDaemon()
  const sockets: FragmentingSocket[] = []
  try {
    const before = anonMiB(d.proc.pid)
    for (let i = 0; i < 20; i++) {
      const id = (await (await postJson(d, '/pty', { command: 'exec sleep 1000' })).json()).session_id as string
      sockets.push(await FragmentingSocket.open(portOf(d.url), `/pty/${id}/ws`, d.token))
    }
    await Promise.all(sockets.map(s => s.sendMessage(15 << 20)))
    // A ping after the fragments: answered by a socket still holding them (before: all 20).
    for (const s of sockets) if (!s.closed) s.ping()
    await Promise.all(sockets.map(s => s.until(() => s.closeCode !== undefined || s.ponged)))
    expect(sockets.map(s => s.closeCode)).toEqual(sockets.map(() => 1009))
    // Each socket held at most 1 MiB of its message (+309 MiB before, 15 MiB each).
    expect(anonMiB(d.proc.pid) - before).toBeLessThan(100)
  } finally {
    for (const s of sockets) s.destroy()
    await d.stop()
  }
}, 120_000)

test('a proxied socket is cut at 1 MiB too, and --max-websocket-message lets larger messages through', async () => {
  const d = await startDaemon()
  const raised: Daemon[] = []
  const sockets: FragmentingSocket[] = []
  try {
    const cut = await FragmentingSocket.open(portOf(d.url), `/proxy/${upstream.port}/`, d.token)
    sockets.push(cut)
    await cut.sendMessage(2 << 20)
    if (!cut.closed) cut.ping()
    await cut.until(() => cut.closeCode !== undefined || cut.ponged)
    expect(cut.closeCode).toBe(1009)

    // 3 MiB under a 4 MiB limit, and with none (0): relayed whole and echoed back by the upstream.
    for (const limit of [String(4 << 20), '0']) {
      const r = await startDaemon({ args: ['--max-websocket-message', limit] })
      raised.push(r)
      const whole = await FragmentingSocket.open(portOf(r.url), `/proxy/${upstream.port}/`, r.token)
      sockets.push(whole)
      await whole.sendMessage(3 << 20, true)
      await whole.until(() => whole.received >= 3 << 20)
      expect(whole.closed).toBe(false)
      expect(whole.received).toBeGreaterThanOrEqual(3 << 20)
    }
  } finally {
    for (const s of sockets) s.destroy()
    await d.stop()
    for (const r of raised) await r.stop()
  }
}, 60_000)
