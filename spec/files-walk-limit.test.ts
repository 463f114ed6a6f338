/**
 * Walks at once are capped (--max-walks, core/admission.ts): searches and listings had no such
 * bound, each walked a share of the event loop's turns, and enough of them at once all ran out
 * of their time budget together: 60 searches of a 200,000-entry directory each got the 503
 * `search stopped after 30000 ms`, none finished. Past the cap a walk waits in a bounded line
 * for a bounded time; a full line refuses at once. Outcomes are counted here, never timed.
 */
import { expect, test } from 'bun:test'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { type Daemon, startDaemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { narrowGet } from './kit/narrow-reader'

/**
 * A directory whose search takes a share of the budget alone (~0.2 s here) and far more than it
 * when SEARCHES share the loop: the budget is lowered to BUDGET_MS (core/periods.ts) so that this
 * shows in seconds what 200,000 entries and 30 s showed. More searches than the line takes, so
 * that the budget can be many times one search alone (at load 29 one took over 3 s, the budget
 * was): past the line they are refused at once, and without the cap all share the loop.
 */
const FILES = 60_000
const BUDGET_MS = 9000
const SEARCHES = 120
/** The line of waiting walks (plugins/files/settings.ts), and how many are asked past it. */
const LINE = 64
const EXTRA = 5
/**
 * The full line's holder lists a directory of its own: its answer (~6.3 MB) is a little more than
 * the loopback socket holds (tcp_wmem's 4 MiB at most: 3 MB of a 4.2 MB listing sat in its send
 * queue, the rest behind it), so its slot is held while the line is asked. Listing `big` (12.9 MB)
 * held it as well, but at load 15-23 reading it through the 4 KiB window took all 64 walks in
 * line past their 10 s.
 */
const HELD = 30_000

const fx = daemonWithDir(
  'walk-limit',
  tmp => {
    mkdirSync(join(tmp, 'big'))
    for (let i = 0; i < FILES; i++) closeSync(openSync(join(tmp, 'big', `f${i}`), 'w'))
    mkdirSync(join(tmp, 'held'))
    for (let i = 0; i < HELD; i++) closeSync(openSync(join(tmp, 'held', `f${i}`), 'w'))
    return { args: [], env: { EXECD_MAX_WALKS: '1', EXECD_PERIODS: `walk:${BUDGET_MS}` } }
  },
  { timeout: 120_000 },
)

const outcome = async (res: Response) => {
  const body = await res.json()
  return res.status === 200 ? '200' : `${res.status} ${body.message.replace(/\d+ ms/, 'N ms')}`
}

test('searches at once each finish or are refused naming the limit; none runs out of its budget', async () => {
  const search = `/files/search?path=${encodeURIComponent(join(fx.tmp, 'big'))}&pattern=f1*9`
  const answers = Promise.all(Array.from({ length: SEARCHES }, () => fx.d.fetch(search).then(outcome)))
  // The loop turns meanwhile: /ping answers while they walk (and wait).
  expect((await fx.d.fetch('/ping')).status).toBe(200)
  const counts: Record<string, number> = {}
  for (const o of await answers) counts[o] = (counts[o] ?? 0) + 1
  // On a build without the cap: {"503 search stopped after N ms (its time budget)": 120}.
  const limit = '503 limit reached: at most 1 concurrent walks (--max-walks), '
  const refused = [`${limit}none came free in N ms`, `${limit}${LINE} more waiting already;`]
  const other = Object.entries(counts).filter(([o]) => o !== '200' && !refused.some(r => o.startsWith(r)))
  expect(other).toEqual([])
  expect(counts['200']).toBeGreaterThan(0)
}, 120_000)

test('a full line refuses at once; the walks in it are served once the slot comes free', async () => {
  // A daemon of its own, with the walk's budget as shipped (30 s): under the file's 3 s the
  // holder's own listing of `big` ran out of it at load 29 (its 503 gave the slot back, and the
  // walks past the line were served, not refused).
  const d = await startDaemon({ env: { EXECD_MAX_WALKS: '1' } })
  try {
    await fullLine(d)
  } finally {
    await d.stop()
  }
}, 120_000)

async function fullLine(d: Daemon): Promise<void> {
  const list = (dir: string) => `/directories/list?path=${encodeURIComponent(dir)}`
  let waiting: Promise<number>[] = []
  // A listing read through a narrow window: its walk's slot is held until its answer is sent.
  const holder = await narrowGet(d, list(join(fx.tmp, 'held')), async () => {
    const settled: string[] = []
    const asked = Array.from({ length: LINE + EXTRA }, () =>
      d.fetch(list(fx.tmp)).then(async res => {
        const o = res.status === 200 ? (await res.body?.cancel(), '200') : await outcome(res)
        settled.push(o)
        return res.status
      }),
    )
    // The ones past the line are told at once, while the slot is still held.
    while (settled.length < EXTRA) await Bun.sleep(20)
    expect(settled).toEqual(
      Array(EXTRA).fill(
        '503 limit reached: at most 1 concurrent walks (--max-walks), 64 more waiting already; try again when one ends or raise the limit',
      ),
    )
    waiting = asked
  })
  expect(holder.status).toBe(200)
  expect(JSON.parse(holder.body)).toHaveLength(HELD)
  // The holder's answer sent: every walk in the line is served, in turn.
  const statuses = await Promise.all(waiting)
  expect(statuses.filter(s => s === 200)).toHaveLength(LINE)
}
