/**
 * Streams asked for over HTTP/1.0, through the compiled executable on a raw socket. HTTP/1.0 has
 * no chunked encoding: a body of unknown length ends when the server closes the connection. So
 * the body must come unframed and whole, and the connection must close at its end. The SSE
 * headers keep the contract's `Connection: keep-alive` (a handler cannot see which version a
 * request spoke, and Bun 1.4.5 closes every HTTP/1.0 connection after its response). Routes that
 * are not streams still answer an HTTP/1.0 request that asks for keep-alive.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { portOf, rawRequest, type RawReply } from './raw-http'

const fx = daemonWithDir('http10', tmp => {
  writeFileSync(join(tmp, 'lines.txt'), 'one\ntwo\nthree\n')
  return []
})

/** Longer than the hold that sends short work as one body: these stream. */
const SLOW = 'echo a; sleep 0.3; echo b'

function http10(method: string, path: string, body = '', extra: string[] = [], waitMs = 10_000): Promise<RawReply> {
  const head = [
    `${method} ${path} HTTP/1.0`,
    'Host: 127.0.0.1',
    `X-EXECD-ACCESS-TOKEN: ${fx.d.token}`,
    ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : []),
    ...extra,
  ]
  return rawRequest(portOf(fx.d.url), head.join('\n'), body, waitMs)
}

/** The SSE events of a body, in order; a chunk-size line or anything unframed fails the parse. */
function events(body: string): { type: string; text?: string }[] {
  const blocks = body.split('\n\n')
  expect(blocks.pop()).toBe('')
  return blocks.map((block, i) => {
    const [id, data] = block.split('\n')
    expect(id).toBe(`id: ${i + 1}`)
    expect(data).toStartWith('data: ')
    return JSON.parse((data as string).slice(6)) as { type: string; text?: string }
  })
}

/** A stream over HTTP/1.0 that ended: a whole unframed body, closed. */
function expectClosedStream(reply: RawReply): { type: string; text?: string }[] {
  expect(reply.status).toBe(200)
  expect(reply.headers['content-type']).toBe('text/event-stream')
  expect(reply.headers['transfer-encoding']).toBeUndefined()
  expect(reply.closed).toBe(true)
  const all = events(reply.body)
  expect(all.at(-1)?.type).toBe('execution_complete')
  return all
}

const stdout = (all: { type: string; text?: string }[]) => all.filter(e => e.type === 'stdout').map(e => e.text)

describe('a stream asked for over HTTP/1.0 comes whole, unframed, and ends by close', () => {
  for (const keepAlive of [false, true]) {
    const extra = keepAlive ? ['Connection: keep-alive'] : []
    const asked = keepAlive ? ' (the request asks for keep-alive)' : ''

    test(`POST /command${asked}`, async () => {
      const all = expectClosedStream(await http10('POST', '/command', JSON.stringify({ command: SLOW }), extra))
      expect(stdout(all)).toEqual(['a', 'b'])
    })

    test(`POST /code, a shell run${asked}`, async () => {
      const all = expectClosedStream(await http10('POST', '/code', JSON.stringify({ code: SLOW }), extra))
      expect(stdout(all)).toEqual(['a', 'b'])
    })

    test(`POST /session/{id}/run${asked}`, async () => {
      const { session_id } = (await (await postJson(fx.d, '/session', {})).json()) as { session_id: string }
      const run = `/session/${session_id}/run`
      const all = expectClosedStream(await http10('POST', run, JSON.stringify({ command: SLOW }), extra))
      expect(stdout(all)).toEqual(['a', 'b'])
      await fx.d.fetch(`/session/${session_id}`, { method: 'DELETE' })
    })

    test(`GET /command/{id}/events of a running command${asked}`, async () => {
      const started = await postJson(fx.d, '/command', { command: SLOW, background: true })
      const id = events(await started.text())[0]?.text
      const all = expectClosedStream(await http10('GET', `/command/${id}/events`, '', extra))
      expect(stdout(all)).toEqual(['a', 'b'])
    })

    test(`GET /metrics/watch${asked}: events unframed`, async () => {
      // A watch never ends by itself: read for a while, then see what came.
      const reply = await http10('GET', '/metrics/watch', '', extra, 1500)
      expect(reply.status).toBe(200)
      expect(reply.headers['transfer-encoding']).toBeUndefined()
      expect(reply.body).toStartWith('id: 1\ndata: {')
    })

    test(`GET /files/download of lines (a body of unknown length)${asked}`, async () => {
      const path = encodeURIComponent(join(fx.tmp, 'lines.txt'))
      const reply = await http10('GET', `/files/download?path=${path}&offset=2&limit=5`, '', extra)
      expect(reply.status).toBe(200)
      expect(reply.headers.connection?.toLowerCase()).not.toBe('keep-alive')
      expect(reply.closed).toBe(true)
      expect(reply.body).toBe('two\nthree\n')
    })
  }
})

describe('a route that is not a stream answers HTTP/1.0 with Connection: keep-alive', () => {
  test('GET /ping, /metrics and /files/info each answer whole, with their length', async () => {
    for (const path of ['/ping', '/metrics', `/files/info?path=${encodeURIComponent(join(fx.tmp, 'lines.txt'))}`]) {
      const reply = await http10('GET', path, '', ['Connection: keep-alive'])
      expect(reply.status).toBe(200)
      expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body))
      if (path !== '/ping') expect(JSON.parse(reply.body)).toBeObject()
    }
  })
})
