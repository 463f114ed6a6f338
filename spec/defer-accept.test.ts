/**
 * Connections that never send a request, in numbers above the fd limit (no token needed to
 * open one). Bun accepts each at once and closes it only after its own fixed 10-14 s: before
 * TCP_DEFER_ACCEPT (core/defer-accept.ts) they held every fd, and a new /ping waited in the
 * listen backlog until Bun had closed enough of them (~35 s for 2,000 under a 256-fd limit, its
 * accept loop spinning on EMFILE meanwhile). Now the kernel keeps them until they send.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { startDaemon } from './harness'
import { portOf, rawRequest } from './raw-http'

const FD_LIMIT = 64
const SILENT = 200

const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

describe.skipIf(process.platform !== 'linux' || !Bun.which('prlimit'))('connections that send nothing', () => {
  test(`${SILENT} of them under a ${FD_LIMIT}-fd limit: a new /ping is answered before Bun closes any`, async () => {
    const d = await startDaemon({ under: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`] })
    const sockets: Socket[] = []
    try {
      const port = portOf(d.url)
      let closedByExecd = 0
      const connected = Array.from({ length: SILENT }, () => {
        const s = connect(port, '127.0.0.1')
        sockets.push(s)
        s.on('close', () => void closedByExecd++)
        s.on('error', () => {})
        return new Promise<void>(resolve => s.once('connect', () => resolve()))
      })
      // The handshake is over for each (the client's side is established, as it always is).
      await Promise.all(connected)
      // Bun sets TCP_DEFER_ACCEPT to 1 s itself: by now the kernel had handed every silent
      // connection to the build before, and the /ping's came behind them in the accept queue.
      await Bun.sleep(3000)
      const ping = await rawRequest(
        port,
        `GET /ping HTTP/1.1\nHost: 127.0.0.1\nX-EXECD-ACCESS-TOKEN: ${d.token}\nConnection: close`,
        '',
        // Long enough for the build before to answer it at all, after Bun closed silent ones.
        90_000,
      )
      expect(ping.status).toBe(200)
      // Before, the /ping's connection got an fd only once Bun had closed some silent ones.
      expect(closedByExecd).toBe(0)
      expect(fdsOf(d.proc.pid)).toBeLessThan(FD_LIMIT / 2)
      expect(sockets.every(s => !s.destroyed)).toBe(true)
    } finally {
      for (const s of sockets) s.destroy()
      await d.stop()
    }
  }, 120_000)

  test('a client that connects and sends its request later is served, and so are HTTP/1.0 and a kept-alive one', async () => {
    const d = await startDaemon()
    try {
      const port = portOf(d.url)
      const late = connect(port, '127.0.0.1')
      late.setEncoding('latin1')
      await new Promise<void>(resolve => late.once('connect', () => resolve()))
      await Bun.sleep(1500)
      let data = ''
      const replies = new Promise<void>(resolve =>
        late.on('data', (chunk: string) => {
          data += chunk
          if (data.split('HTTP/1.1 200').length === 3) resolve()
        }),
      )
      const get = `GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n\r\n`
      late.write(get)
      // The second request on the same (kept-alive) connection, once the first is answered.
      while (!data.includes('HTTP/1.1 200')) await Bun.sleep(10)
      late.write(get)
      await replies
      late.destroy()
      const old = await rawRequest(port, `GET /ping HTTP/1.0\nX-EXECD-ACCESS-TOKEN: ${d.token}`)
      expect(old.status).toBe(200)
      expect(old.closed).toBe(true)
    } finally {
      await d.stop()
    }
  })
})
