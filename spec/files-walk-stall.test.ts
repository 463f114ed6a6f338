/**
 * A listing or search holds its --max-walks slot until its answer is sent (files-ops.ts), and a
 * client that never read kept it until Bun's idle timeout closed the connection: four such
 * clients refused every other walk for 124 s. The stall rule (core/send-stall.ts) resets the
 * connection of a client that takes nothing for its period (shortened here, core/periods.ts)
 * once a walk waits for its slot, and the slot comes back; a client that reads, however slowly,
 * keeps its answer. Outcomes are counted, never timed: the walks behind the stalled ones wait
 * their 10 s in line as before.
 */
import { expect, test } from 'bun:test'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { askHeld } from './fuzz/quiescence'
import { waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { logLines } from './kit/log-line'
import { connections } from './kit/tcp-queues'
import { portOf } from './raw-http'

/** Far more than the loopback socket's buffers and Bun's take: an unread answer stays unsent. */
const FILES = 60_000
const WALKS = 2
const STALL_MS = 3000
/** How long the slow reader below reads: past several looks of the rule beyond its period. */
const SLOW_PERIODS = 4

const fx = daemonWithDir(
  'walk-stall',
  tmp => {
    mkdirSync(join(tmp, 'big'))
    for (let i = 0; i < FILES; i++) closeSync(openSync(join(tmp, 'big', `f${i}-${'n'.repeat(40)}`), 'w'))
    return { env: { EXECD_MAX_WALKS: String(WALKS), EXECD_PERIODS: `stall:${STALL_MS}` } }
  },
  { timeout: 120_000 },
)

const list = (dir: string) => `/directories/list?path=${encodeURIComponent(dir)}`

/** A socket that asks `path` and never reads a byte of the answer; `ended` once execd ends it. */
function unread(path: string): { socket: Socket; ended: Promise<string> } {
  const socket = connect(portOf(fx.d.url), '127.0.0.1')
  socket.pause()
  const ended = new Promise<string>(resolve => {
    socket.on('error', err => resolve((err as NodeJS.ErrnoException).code ?? err.message))
    socket.on('close', () => resolve('closed'))
  })
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n\r\n`)
  return { socket, ended }
}

/**
 * Whether execd's side of each of `clients` has had the same bytes unacknowledged, and some, for
 * `ms`: its answer is written and the client has taken nothing since (the kernel's view, as the
 * stall rule's own, which looks each STALL_MS / 4 and so may start its count up to one look later).
 */
function stalledFor(ms: number, clients: Socket[]): () => boolean {
  const seen = new Map<number, { tx: number; since: number }>()
  return () => {
    const port = portOf(fx.d.url)
    const now = performance.now()
    const all = connections()
    return clients
      .map(c => {
        const tx = all.find(k => k.local === port && k.remote === c.localPort)?.tx ?? 0
        const last = seen.get(c.localPort ?? 0)
        if (tx === 0 || last?.tx !== tx) seen.set(c.localPort ?? 0, { tx, since: now })
        return tx > 0 && last?.tx === tx && now - last.since >= ms
      })
      .every(Boolean)
  }
}

const walksHeld = async () => (await askHeld(fx.d))?.pools.find(p => p.what === 'concurrent walks')?.held

test('listings and searches whose clients never read give their slots back; the walks behind them are served', async () => {
  const big = join(fx.tmp, 'big')
  const holders = [unread(list(big)), unread(`/files/search?path=${encodeURIComponent(big)}&pattern=f*`)]
  try {
    await waitFor('both walks to hold their slots', async () => (await walksHeld()) === WALKS, 60_000)
    // And to be stalled past the rule's period, both: a slot is held while its walk runs too, and
    // the listings below, asked then, waited out their 10 s in line behind two 60,000-entry walks
    // on a loaded machine (load 25); asked as one holder came due before the other, they were
    // served on its slot alone and the other, wanted by none, was rightly kept.
    const both = stalledFor(
      STALL_MS + STALL_MS / 4,
      holders.map(h => h.socket),
    )
    await waitFor("both holders to stall past the rule's period", both, 60_000)
    // Asked at once while both slots are held by clients that read nothing: three waiting in
    // line want both slots, and each holder, stalled, gives its own back (one listing waiting
    // ends one holder: the rule ends no answer whose slot nobody wants). Stop 50's build
    // answered all three the 503 `limit reached: at most 2 concurrent walks (--max-walks), none
    // came free`.
    const statuses = await Promise.all(
      [0, 1, 2].map(async () => {
        const res = await fx.d.fetch(list(fx.tmp))
        await res.body?.cancel()
        return res.status
      }),
    )
    expect(statuses).toEqual([200, 200, 200])
    // Reset, not closed with a FIN: the client cannot take what it got for the whole answer.
    expect(await Promise.all(holders.map(h => h.ended))).toEqual(['ECONNRESET', 'ECONNRESET'])
    await waitFor('the walks pool to drain', async () => (await walksHeld()) === 0)
    // Waited for: the log's pipe is read in no order with the sockets the resets ended.
    const lines = await logLines(fx.d, ['"msg":"answer stalled'], 2)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      level: 'warn',
      msg: `answer stalled: its client took nothing for ${STALL_MS / 1000} s; connection reset`,
      stall_ms: STALL_MS,
      holding: 'a --max-walks slot',
    })
  } finally {
    for (const h of holders) h.socket.destroy()
  }
}, 120_000)

test('a client that reads a listing slowly is not cut: it gets the whole answer', async () => {
  // A narrow receive window (as spec/kit/narrow-reader.ts pins it) acknowledges every few KiB
  // read; at 4 KiB a second it reads for four periods of the stall rule, far from the end (it
  // read for eight, 24 of the file's 29 s, where a rule that cut it would at the first).
  const program = [
    'import socket, sys, time',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
    `s.connect(('127.0.0.1', ${portOf(fx.d.url)}))`,
    `s.sendall(b'GET ${list(join(fx.tmp, 'big'))} HTTP/1.1\\r\\nHost: x\\r\\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\\r\\n\\r\\n')`,
    'got = 0',
    't = time.time()',
    `while time.time() - t < ${(SLOW_PERIODS * STALL_MS) / 1000}:`,
    '    b = s.recv(1024)',
    '    if not b: sys.exit("cut after %d bytes" % got)',
    '    got += len(b)',
    '    time.sleep(0.25)',
    'print(got)',
  ].join('\n')
  const p = Bun.spawn([process.env.EXECD_PYTHON || '/usr/bin/python3', '-c', program], { stderr: 'pipe' })
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
}, 120_000)
