/**
 * What Bun's HTTP parser refuses before any code of execd runs: broken framing is answered with
 * uWS's fixed bytes (`HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n`), never our JSON —
 * a bare Bun.serve with both `fetch` and `error` handlers sees neither called for these (Bun
 * 1.4.5; its parser-tier answers are constants in packages/bun-uws/src/HttpErrors.h). What execd
 * can hold to: each connection is closed, nothing it sent after is served, and execd is left as
 * it was — serving, its descriptors back to where they were.
 */
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { portOf } from './raw-http'
import { daemonWithDir } from './kit/daemon-dir'

// execd's own temp dir: a command run leaves its log there.
const fx = daemonWithDir('framing', tmp => ({ env: { TMPDIR: tmp } }))

const commandLogs = () =>
  readdirSync(fx.tmp)
    .filter(n => n.startsWith('execd-commands-'))
    .flatMap(n => readdirSync(join(fx.tmp, n)).filter(f => f.endsWith('.output')))

/** Writes `bytes` in one write; everything the server sent, and whether it closed within 5 s. */
function exchange(port: number, bytes: string): Promise<{ reply: string; closed: boolean }> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ reply, closed })
    }
    const timer = setTimeout(() => done(false), 5000)
    socket.setEncoding('latin1')
    socket.on('data', chunk => (reply += chunk))
    socket.on('close', () => done(true))
    socket.on('error', () => done(true))
    socket.write(bytes)
  })
}

const BROKEN: Record<string, string> = {
  'negative Content-Length': 'Content-Length: -1\r\n\r\n',
  'Content-Length past 2^64': 'Content-Length: 99999999999999999999999\r\n\r\n{}',
  'two different Content-Lengths': 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
  'a Content-Length list': 'Content-Length: 2, 2\r\n\r\n{}',
  'a signed Content-Length': 'Content-Length: +2\r\n\r\n{}',
  'Content-Length with chunked': 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  'a coding other than chunked': 'Transfer-Encoding: gzip\r\n\r\n{}',
  'chunked not last': 'Transfer-Encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  'chunked twice': 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  'a chunk size that is no number': 'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  'a chunk size past 2^64': 'Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n{}\r\n0\r\n\r\n',
  'an obsolete folded header': 'X-A: a\r\n b\r\nContent-Length: 2\r\n\r\n{}',
  'a space before the colon': 'Content-Length : 2\r\n\r\n{}',
}

const fds = () => readdirSync(`/proc/${fx.d.proc.pid}/fd`).length

test("broken framing: Bun's bare 400, the connection closed, what was pipelined after it never served", async () => {
  const port = portOf(fx.d.url)
  const auth = `Host: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n`
  const before = fds()
  for (let round = 0; round < 5; round++) {
    for (const [what, rest] of Object.entries(BROKEN)) {
      // A command behind it that would leave a trace if it were run.
      const behind = `POST /command HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 27\r\n\r\n{"command":"echo smuggled"}`
      const { reply, closed } = await exchange(port, `POST /command HTTP/1.1\r\n${auth}${rest}${behind}`)
      expect({ what, reply, closed }).toEqual({
        what,
        reply: 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
        closed: true,
      })
    }
  }
  expect(commandLogs()).toEqual([])
  expect((await fx.d.fetch('/ping')).status).toBe(200)
  // Every refused connection is gone: at most the fetch's own keep-alive one is new.
  expect(fds()).toBeLessThanOrEqual(before + 2)
  expect(fx.d.proc.exitCode).toBeNull()
})

test('a method Bun does not know: closed without an answer, execd serving', async () => {
  const { reply, closed } = await exchange(portOf(fx.d.url), 'FROB /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  expect({ reply, closed }).toEqual({ reply: '', closed: true })
  expect((await fx.d.fetch('/ping')).status).toBe(200)
})
