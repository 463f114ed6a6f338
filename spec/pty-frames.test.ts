/**
 * Hostile PTY frames through the executable (issue 10.2): a resize to 65536 columns used to
 * end the daemon. Every bad frame must be answered with an `error` frame on the socket, and
 * the terminal and the daemon must keep working.
 */
import { describe, expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { PtyClient } from './pty-client'

const fx = daemonAlone()

const newSession = async () => (await (await postJson(fx.d, '/pty', {})).json()).session_id as string

const alive = async () => {
  expect(fx.d.proc.exitCode).toBeNull()
  expect((await fx.d.fetch('/ping')).status).toBe(200)
}

/** A masked client text frame (RFC 6455 §5.2) carrying `payload` as it is, UTF-8 or not. */
function textFrame(payload: Uint8Array): Uint8Array {
  const mask = [1, 2, 3, 4]
  return new Uint8Array([0x81, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ (mask[i % 4] ?? 0))])
}

/**
 * Opens the session's socket by hand and sends a text frame that is not UTF-8 (no WebSocket
 * API can); resolves with everything the daemon answered once it closes the connection.
 */
async function sendInvalidUtf8(id: string): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>()
  let answer = ''
  let sent = false
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: Number(new URL(fx.d.url).port),
    socket: {
      data(s, bytes) {
        answer += Buffer.from(bytes).toString('latin1')
        if (sent || !answer.includes('\r\n\r\n')) return
        sent = true
        s.write(textFrame(new Uint8Array([0xc3, 0x28, 0xff, 0xfe])))
      },
      close: () => resolve(answer),
      error: () => resolve(answer),
    },
  })
  socket.write(
    `GET /pty/${id}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      `X-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n\r\n`,
  )
  // Bounded: if the daemon kept the connection, end it ourselves.
  setTimeout(() => socket.end(), 3000)
  return promise
}

describe('hostile PTY frames', () => {
  test('resize 65536 columns is clamped and the terminal keeps working', async () => {
    const c = await PtyClient.connect(fx.d, await newSession())
    c.send({ type: 'resize', cols: 65536, rows: 24 })
    c.send({ type: 'stdin', data: 'stty size\n' })
    await c.until('the clamped size', () => c.stdout.includes('24 4096'))
    await alive()
    c.close()
  })

  test('a battery of bad frames gets one error frame each; the shell and the daemon survive', async () => {
    const c = await PtyClient.connect(fx.d, await newSession())
    await c.until('connected', () => c.json('connected').length > 0)
    const resizes: unknown[][] = [
      [1e5, 24],
      [1e9, 24],
      [2 ** 32, 24],
      [80, 70000],
      [-1, -1],
      [0, 0],
      [1.5, 2.5],
      [Number.MAX_VALUE, -Number.MAX_VALUE],
    ]
    for (const [cols, rows] of resizes) c.send({ type: 'resize', cols, rows })
    // Each of these is answered with an error frame.
    const bad: (string | Uint8Array)[] = [
      JSON.stringify({ type: 'resize', cols: '80', rows: 24 }),
      JSON.stringify({ type: 'resize', cols: null, rows: null }),
      JSON.stringify({ type: 'resize' }),
      '{"type":"resize","cols":1e999,"rows":24}',
      JSON.stringify({ type: 'stdin', data: 12 }),
      JSON.stringify({ type: 'stdin', data: { a: 1 } }),
      JSON.stringify({ type: 'signal', signal: 'SIGSTOP' }),
      JSON.stringify({ type: 'signal', signal: 9 }),
      JSON.stringify({ type: 'nope' }),
      JSON.stringify({ type: null }),
      '{"type":{"toString":1}}',
      '{"type":"signal","signal":{"toString":1}}',
      '[1,2,3]',
      'null',
      '7',
      'not json at all',
      '',
      new Uint8Array(0),
      // Large, within --max-websocket-message (1 MiB; past it the socket closes with 1009).
      `{"type":"${'x'.repeat((1 << 20) - 16)}"}`,
      new Uint8Array(1 << 20).fill(0x07),
    ]
    for (let prefix = 1; prefix < 256; prefix++) bad.push(new Uint8Array([prefix, 0x41, 0x42]))
    for (const frame of bad) c.ws.send(frame)
    // Empty stdin, binary and JSON, is no error.
    c.ws.send(new Uint8Array([0]))
    c.send({ type: 'stdin', data: '' })
    c.send({ type: 'ping' })
    await c.until('every answer', () => c.json('error').length >= bad.length && c.json('pong').length > 0, 20_000)
    expect(c.json('error').length).toBe(bad.length)
    expect(new Set(c.json('error').map(e => e.code))).toEqual(new Set(['INVALID_FRAME']))
    expect(Math.max(...c.json('error').map(e => e.error.length))).toBeLessThan(200)
    expect(c.closed).toBeNull()

    c.send({ type: 'resize', cols: 100, rows: 30 })
    c.stdin('stty size; echo ok-$((40+2))\n')
    await c.until('the shell', () => c.stdout.includes('30 100') && c.stdout.includes('ok-42'))
    await alive()
    c.close()
  })

  test('a text frame that is not UTF-8 ends that connection only', async () => {
    const id = await newSession()
    const answer = await sendInvalidUtf8(id)
    expect(answer).toStartWith('HTTP/1.1 101')
    // A close frame: 0x88, its length, then code 1007 (invalid frame payload data).
    expect(answer).toMatch(/\x88[\s\S]\x03\xef/)
    await alive()
    // The session is free again and works.
    const c = await PtyClient.connect(fx.d, id)
    c.stdin('echo after-$((3*3))\n')
    await c.until('echo', () => c.stdout.includes('after-9'))
    c.close()
  })
})
