/**
 * A client that reads slowly is never cut for it. Its kernel reopens a shut window only after a
 * good part of its buffer is read, so at 1 KiB/s its acknowledgements stop for a minute or more
 * and the stall rule (core/send-stall.ts) cannot tell it from a client that reads nothing: under
 * stop 51's rule such a download was reset 153 s into the 120 s period. An answer stalled past
 * the period is now ended only when a request wants its slot, the longest stalled first, or past
 * the ceiling. Periods shortened (core/periods.ts); outcomes counted, the waits only let the rule
 * look.
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { askHeld } from './fuzz/quiescence'
import { postJson, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { logLine, logLines } from './kit/log-line'
import { slowReader } from './kit/slow-reader'
import { portOf } from './raw-http'

const STALL_MS = 2000
/** Past the slow readers' whole reads below (~7 s): the ceiling would end them too. */
const CEILING_MS = 30_000
const STREAMS = 2
const fx = daemonWithDir('stall-slow-reader', () => ({
  env: {
    EXECD_MAX_STREAMS: String(STREAMS),
    EXECD_PERIODS: `stall:${STALL_MS},stallCeiling:${CEILING_MS}`,
  },
}))

/** 30 MB of output, far more than the buffers take, then a wait: the stream stays open. */
const FLOOD = JSON.stringify({ command: 'head -c 30000000 /dev/zero | base64; sleep 600' })
const head = (method: string, path: string, length?: number) =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
  (length === undefined ? '\r\n' : `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`)
const flood = () => slowReader(fx.d, head('POST', '/command', FLOOD.length), FLOOD)
// The last piece is a line still being written (or the empty rest after the last newline).
const stalledLines = () =>
  fx.d
    .logs()
    .split('\n')
    .slice(0, -1)
    .filter(l => l.includes('"msg":"answer stalled'))
    .map(l => JSON.parse(l))
const streamsHeld = async () => (await askHeld(fx.d))?.pools.find(p => p.what === 'concurrent streams')?.held

/** A socket that sends `text` and never reads a byte of the answer; `ended` once execd ends it. */
function unread(text: string, d = fx.d): { socket: Socket; ended: Promise<string> } {
  const socket = connect(portOf(d.url), '127.0.0.1')
  socket.pause()
  const ended = new Promise<string>(resolve => {
    socket.on('error', err => resolve((err as NodeJS.ErrnoException).code ?? err.message))
    socket.on('close', () => resolve('closed'))
  })
  socket.write(text)
  return { socket, ended }
}

test('a download and an event stream read at 1 KiB/s, their slots wanted by nobody, read on past the period', async () => {
  const file = join(fx.tmp, 'big')
  writeFileSync(file, Buffer.alloc(16 << 20, 'x'))
  const readers = [slowReader(fx.d, head('GET', `/files/download?path=${encodeURIComponent(file)}`)), flood()]
  await Promise.all(readers.map(r => r.reading))
  // Three periods: stop 51's rule reset both here.
  await Bun.sleep(3 * STALL_MS)
  const ends = await Promise.all(readers.map(r => r.finish()))
  // A reset connection ends within what the client's buffer held; one still sent goes on.
  expect(ends.map(e => [e.end, e.fast >= 1 << 20])).toEqual([
    ['read on', true],
    ['read on', true],
  ])
  expect(stalledLines()).toEqual([])
}, 60_000)

test("a wanted slot is taken from the client that has read nothing the longest, not from a slow reader's", async () => {
  await waitFor('the streams pool to drain', async () => (await streamsHeld()) === 0)
  const idle = unread(head('POST', '/command', FLOOD.length) + FLOOD)
  let slow: ReturnType<typeof flood> | undefined
  try {
    await waitFor('the unread stream to hold its slot', async () => (await streamsHeld()) === 1)
    // Two looks of the rule: the slow reader's client stalls after the unread one's.
    await Bun.sleep(STALL_MS / 2)
    slow = flood()
    await slow.reading
    await waitFor('both streams to hold their slots', async () => (await streamsHeld()) === STREAMS)
    // Both stalled past the period; only the refused request below wants a slot.
    await Bun.sleep(2 * STALL_MS)
    let refused = 0
    await waitFor(
      'a stream to be served',
      async () => {
        const res = await postJson(fx.d, '/command', { command: 'echo served' })
        if (res.status === 503) refused++
        await res.body?.cancel()
        if (res.status !== 200) await Bun.sleep(250)
        return res.status === 200
      },
      60_000,
    )
    expect(await idle.ended).toBe('ECONNRESET')
    await waitFor('its line', async () => stalledLines().length > 0)
    const end = await slow.finish()
    expect(end.end).toBe('read on')
    expect(end.fast).toBeGreaterThanOrEqual(1 << 20)
    const lines = stalledLines()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      msg: `answer stalled: its client took nothing for ${STALL_MS / 1000} s; connection reset`,
      ended_for: 'a request wanting its slot',
      holding: 'a --max-streams slot',
    })
    expect(refused).toBeGreaterThan(0)
  } finally {
    idle.socket.destroy()
    if (slow) await slow.finish().catch(() => undefined)
  }
}, 90_000)

// The ceiling on a daemon of its own, short: the one above must be longer than its slow
// readers read, and waiting it out here took 30 of the file's 45 s.
const SHORT_CEILING_MS = 3000
const ceiling = daemonWithDir('stall-ceiling', () => ({
  env: { EXECD_PERIODS: `stall:${STALL_MS / 2},stallCeiling:${SHORT_CEILING_MS}` },
}))

test('an answer nobody reads and nobody wants is ended past the ceiling', async () => {
  const file = join(ceiling.tmp, 'big')
  writeFileSync(file, Buffer.alloc(16 << 20, 'x'))
  const idle = unread(
    `GET /files/download?path=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${ceiling.d.token}\r\n\r\n`,
    ceiling.d,
  )
  try {
    expect(await idle.ended).toBe('ECONNRESET')
    const lines = await logLines(ceiling.d, ['"msg":"answer stalled'], 1)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      msg: `answer stalled: its client took nothing for ${SHORT_CEILING_MS / 1000} s; connection reset`,
      ended_for: 'the ceiling',
      holding: 'its body',
    })
  } finally {
    idle.socket.destroy()
  }
}, 90_000)

const MAX_REQUESTS = 3
const small = daemonWithDir('stall-max-requests', () => ({
  env: { EXECD_MAX_REQUESTS: String(MAX_REQUESTS), EXECD_PERIODS: `stall:${STALL_MS}` },
}))

test('downloads nobody reads give --max-requests back to a request it refused', async () => {
  const file = join(small.tmp, 'big')
  writeFileSync(file, Buffer.alloc(16 << 20, 'x'))
  const ask = `GET /files/download?path=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${small.d.token}\r\n\r\n`
  const holders: { socket: Socket; ended: Promise<string> }[] = []
  for (let i = 0; i < MAX_REQUESTS; i++) holders.push(unread(ask, small.d))
  try {
    const ping = async () => {
      const res = await small.d.fetch('/ping')
      await res.body?.cancel()
      return res.status
    }
    // The three hold every request in flight: the next is refused, and wants one.
    await waitFor('a request refused', async () => (await ping()) === 503, 15_000)
    // Each refused too wants one; a holder stalled past the period gives its own back.
    await waitFor('a request to be served', async () => (await ping()) === 200 || (await Bun.sleep(250), false), 60_000)
    expect(await Promise.race([...holders.map(h => h.ended)])).toBe('ECONNRESET')
    const line = await logLine(small.d, ['"msg":"answer stalled'])
    expect(line).toMatchObject({ ended_for: 'a request wanting its slot', holding: 'its body' })
  } finally {
    for (const h of holders) h.socket.destroy()
  }
}, 90_000)
