/**
 * JSON bodies arriving at once, all together (core/body.ts `arrive`): --max-json-bytes bounded
 * each body, not all of them, and clients that sent all of a large body but its last byte held
 * its size each in execd until --body-timeout (40 such of 16 MiB held 720 MiB). Counts, not times:
 * with a bound of 16 bodies, 24 clients each holding all but a byte of one find 8 refused.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { type Daemon, waitFor, startDaemon } from './harness'
import { portOf } from './raw-http'

const BODY = 1024 * 1024
/** core/body.ts ARRIVING_BODIES: bodies of --max-json-bytes that may arrive at once. */
const BOUND = 16
const HOLDERS = BOUND + 8

let d: Daemon
beforeAll(async () => {
  // A body timeout no wait below meets: the holders are refused for their bytes, never their time.
  d = await startDaemon({ args: ['--max-json-bytes', String(BODY), '--body-timeout', '600000'] })
})
afterAll(() => d.stop())

interface Holder {
  socket: Socket
  reply: () => string
  closed: () => boolean
}

/** A `POST /command` of a BODY-byte body, all of it sent but its last `held` bytes. */
function hold(held = 1): Holder {
  const socket = connect(portOf(d.url), '127.0.0.1')
  let data = ''
  let closed = false
  socket.setEncoding('latin1')
  socket.on('data', chunk => (data += chunk))
  socket.on('close', () => (closed = true))
  socket.on('error', () => {})
  const body = Buffer.alloc(BODY, 0x61)
  body.write('{"command":"true","pad":"', 0)
  body.write('"}', BODY - 2)
  socket.write(
    `POST /command HTTP/1.1\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\nContent-Type: application/json\r\nContent-Length: ${BODY}\r\n\r\n`,
  )
  socket.write(body.subarray(0, BODY - held))
  return { socket, reply: () => data, closed: () => closed }
}

const refused = (h: Holder) => h.closed() && h.reply().startsWith('HTTP/1.1 503')

/** A whole BODY-byte `POST /command`, sent raw as the holders are: its status. */
async function whole(): Promise<number> {
  const h = hold(0)
  try {
    await waitFor('an answer to a whole body', () => / \d{3} /.test(h.reply().split('\r\n')[0] ?? ''), 60_000)
    return Number(h.reply().split(' ')[1])
  } finally {
    h.socket.destroy()
  }
}

test('JSON bodies arriving at once are bounded in bytes: past the bound 503, and a holder that leaves makes room', async () => {
  const holders = Array.from({ length: HOLDERS }, () => hold())
  try {
    // Every byte sent is counted as it arrives, and a refused body gives its bytes back: at most
    // BOUND bodies of all but a byte stay, so the rest are refused (generous wait: no time asserted).
    await waitFor('the bodies past the bound refused', () => holders.filter(refused).length >= HOLDERS - BOUND, 60_000)
    const out = holders.filter(refused)
    const stay = holders.filter(h => !refused(h))
    // Refusals of bodies still arriving may take more than the least, never fewer.
    expect(stay.length).toBeLessThanOrEqual(BOUND)
    const reply = out[0]!.reply()
    const answer = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))
    expect(answer.code).toBe('SERVICE_UNAVAILABLE')
    expect(answer.message).toContain('--max-json-bytes')
    // Small requests go on meanwhile; with BOUND bodies held, a whole one of the largest size
    // finds no room.
    expect((await d.fetch('/ping')).status).toBe(200)
    if (stay.length === BOUND) expect(await whole()).toBe(503)
    // One holder leaves: its bytes are given back, and the next large body is served.
    stay[0]!.socket.destroy()
    let status = 0
    await waitFor('a large body served once a holder left', async () => (status = await whole()) !== 503, 30_000)
    expect(status).toBe(200)
  } finally {
    for (const h of holders) h.socket.destroy()
  }
}, 120_000)
