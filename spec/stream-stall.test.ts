/**
 * An event stream holds one of --max-streams while it is sent, and one whose client never read
 * held it for as long as the client kept the connection: Bun's idle timeout never closed it
 * (command streams watched for 170 s on main's build). Under the stall rule
 * (core/send-stall.ts; its period shortened here, core/periods.ts) the connection is reset and
 * the slot comes back. Outcomes are counted, never timed.
 */
import { expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { askHeld } from './fuzz/quiescence'
import { postJson, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { logLines } from './kit/log-line'
import { portOf } from './raw-http'

const STREAMS = 2
const fx = daemonAlone(() => ({ env: { EXECD_MAX_STREAMS: String(STREAMS), EXECD_PERIODS: 'stall:3000' } }))

/** A socket that posts `body` to `path` and never reads a byte of the answer; `ended` once execd ends it. */
function unread(path: string, body: unknown): { socket: Socket; ended: Promise<string> } {
  const socket = connect(portOf(fx.d.url), '127.0.0.1')
  socket.pause()
  const ended = new Promise<string>(resolve => {
    socket.on('error', err => resolve((err as NodeJS.ErrnoException).code ?? err.message))
    socket.on('close', () => resolve('closed'))
  })
  const json = JSON.stringify(body)
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
  )
  return { socket, ended }
}

test('event streams whose clients never read give their --max-streams slots back', async () => {
  // 40 MB of output, far more than the sockets' buffers take, then a wait: the streams stay open.
  const flood = { command: 'head -c 30000000 /dev/zero | base64; sleep 600' }
  const holders = Array.from({ length: STREAMS }, () => unread('/command', flood))
  const streamsHeld = async () => (await askHeld(fx.d))?.pools.find(p => p.what === 'concurrent streams')?.held
  try {
    await waitFor('both command streams to hold their slots', async () => (await streamsHeld()) === STREAMS)
    let refused = 0
    // Each refusal is at once (streams have no line); on main's build every one is refused.
    // Both slots wanted: each stream served is kept open, so the second asks for the other
    // holder's (a refusal ends one stalled holder a look; one nobody wants keeps its slot).
    const served: Response[] = []
    await waitFor(
      'two streams to be served',
      async () => {
        const res = await postJson(fx.d, '/command', { command: 'echo served; sleep 60' })
        if (res.status === 503) refused++
        if (res.status === 200) served.push(res)
        else await res.body?.cancel()
        if (res.status !== 200) await Bun.sleep(250)
        return served.length === STREAMS
      },
      60_000,
    )
    for (const res of served) await res.body?.cancel()
    expect(refused).toBeGreaterThan(0)
    expect(await Promise.all(holders.map(h => h.ended))).toEqual(['ECONNRESET', 'ECONNRESET'])
    // Waited for: the log's pipe is read in no order with the sockets the resets ended.
    const lines = await logLines(fx.d, ['"msg":"answer stalled'], STREAMS)
    expect(lines.map(l => l.holding)).toEqual(['a --max-streams slot', 'a --max-streams slot'])
  } finally {
    for (const h of holders) h.socket.destroy()
  }
}, 120_000)
