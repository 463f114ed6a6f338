/**
 * A proxied HTTP request whose upstream accepts and never sends a response head held its caller,
 * and one of the --max-proxy-requests slots, for as long as the caller waited: Bun's client has
 * no timeout of its own. Past --proxy-response-timeout it is a JSON 502 and the upstream's
 * connection is closed. The head only: a body may take as long as it takes.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createServer, type Server, type Socket } from 'node:net'
import { startDaemon, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'

/** A TCP server that accepts and never says a word, and the connections it holds. */
let silent: Server
const held = new Set<Socket>()
/** Sends its head at once and its body 1.5 s later, past the daemon's 500 ms (raw: Bun.serve holds a head until the first chunk). */
let slowBody: Server
const slowPort = () => (slowBody.address() as { port: number }).port
/** Answers every request with 1xx heads, without end, until execd leaves. */
let informer: Server
/** Answers every request `101 Switching Protocols`, asked or not, and then says nothing. */
let switcher: Server
const switched = new Set<Socket>()

beforeAll(async () => {
  silent = createServer(socket => {
    held.add(socket)
    // Reads (and drops) the request, so that execd's FIN is seen as the connection's end.
    socket.resume()
    socket.on('close', () => held.delete(socket)).on('error', () => {})
  })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  slowBody = createServer(socket => {
    socket.on('error', () => {})
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\n')
      setTimeout(() => socket.end('late but whole'), 1500)
    })
  })
  await new Promise<void>(resolve => slowBody.listen(0, '127.0.0.1', resolve))
  switcher = createServer(socket => {
    switched.add(socket)
    socket.on('close', () => switched.delete(socket)).on('error', () => {})
    socket.once('data', () =>
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'),
    )
  })
  await new Promise<void>(resolve => switcher.listen(0, '127.0.0.1', resolve))
  informer = createServer(socket => {
    socket.on('error', () => {})
    const heads = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'.repeat(500)
    // Bounded, and stopped by a failed write: unbounded, with its errors ignored, this loop once
    // kept the test's own thread busy after execd had answered (a CI run hung here for 5 min,
    // past the test's 60 s, its timers starved).
    let left = 20_000
    const more = (err?: Error | null) => void (!err && !socket.destroyed && left-- > 0 && socket.write(heads, more))
    socket.once('data', () => more())
  })
  await new Promise<void>(resolve => informer.listen(0, '127.0.0.1', resolve))
})
// Through the environment, so the build before the option starts too (and waits, unbounded).
const fx = daemonAlone(() => ({ env: { EXECD_PROXY_RESPONSE_TIMEOUT_MS: '500', EXECD_MAX_PROXY_REQUESTS: '1' } }))
afterAll(async () => {
  slowBody?.close()
  for (const socket of switched) socket.destroy()
  switcher?.close()
  informer?.close()
  for (const socket of held) socket.destroy()
  silent?.close()
})

const silentPort = () => (silent.address() as { port: number }).port

test('an upstream that never sends its response head: a JSON 502 after --proxy-response-timeout, its connection closed, the slot free', async () => {
  // A generous bound of the client's own, far past the daemon's 500 ms: the build before the
  // option never answered at all.
  for (const path of ['/x', '//verbatim']) {
    const res = await fx.d.fetch(`/proxy/${silentPort()}${path}`, { signal: AbortSignal.timeout(20_000) })
    expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 502, 'application/json; charset=utf-8'])
    const error = await res.json()
    expect(error.code).toBe('BAD_GATEWAY')
    expect(error.message).toContain('--proxy-response-timeout')
    // execd's connection to the silent upstream is closed, not left for it to hold.
    await waitFor('the silent upstream to see execd leave', () => held.size === 0)
  }
  // --max-proxy-requests is 1: the one slot came back.
  const res = await fx.d.fetch(`/proxy/${slowPort()}/`, { signal: AbortSignal.timeout(20_000) })
  expect(res.status).toBe(200)
  expect(await res.text()).toBe('late but whole')
}, 60_000)

test('a body slower than the timeout is relayed whole once its head has come', async () => {
  const res = await fx.d.fetch(`/proxy/${slowPort()}/again`, { signal: AbortSignal.timeout(20_000) })
  expect(res.status).toBe(200)
  expect(await res.text()).toBe('late but whole')
}, 30_000)

test('an upstream that switches protocols unasked: a JSON 502, not a caller left waiting past the timeout', async () => {
  // node:http (the `//` paths) took the 101 for an upgrade and closed the socket: no head, no
  // error, and the old build never answered, whatever --proxy-response-timeout said.
  const port = (switcher.address() as { port: number }).port
  for (const path of ['/x', '//verbatim']) {
    const res = await fx.d.fetch(`/proxy/${port}${path}`, { signal: AbortSignal.timeout(15_000) })
    expect([path, res.status, (await res.json()).code]).toEqual([path, 502, 'BAD_GATEWAY'])
    await waitFor('the switching upstream to see execd leave', () => switched.size === 0)
  }
  // The one --max-proxy-requests slot came back.
  const res = await fx.d.fetch(`/proxy/${slowPort()}/after`, { signal: AbortSignal.timeout(20_000) })
  expect(await res.text()).toBe('late but whole')
}, 60_000)

test('an upstream that sends 1xx heads without end: a JSON 502 naming them, without waiting for a timeout', async () => {
  // No --proxy-response-timeout here: the old build parsed them, its one thread busy, until the caller left.
  const patient = await startDaemon({ env: { EXECD_PROXY_RESPONSE_TIMEOUT_MS: '0' } })
  try {
    const port = (informer.address() as { port: number }).port
    const res = await patient.fetch(`/proxy/${port}//x`, { signal: AbortSignal.timeout(15_000) })
    const error = await res.json()
    expect([res.status, error.code]).toEqual([502, 'BAD_GATEWAY'])
    expect(error.message).toContain('informational (1xx)')
  } finally {
    await patient.stop()
  }
}, 60_000)
