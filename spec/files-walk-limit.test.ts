/**
 * Walks at once are capped (--max-walks, core/admission.ts): searches and listings had no such
 * bound, each walked a share of the event loop's turns, and enough of them at once all ran out
 * of their time budget together: 60 searches of a 200,000-entry directory each got the 503
 * `search stopped after 30000 ms`, none finished. Past the cap a walk waits in a bounded line
 * for a bounded time; a full line refuses at once (core/admission.test.ts). A walk's slot is held
 * while it walks, not while its answer waits for a client that does not read. Outcomes are
 * counted here, never timed.
 */
import { expect, test } from 'bun:test'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { narrowGet } from './kit/narrow-reader'

/**
 * A directory whose search takes a share of the budget alone (~0.2 s here) and far more than it
 * when SEARCHES share the loop: the budget is lowered to BUDGET_MS (core/periods.ts) so that this
 * shows in seconds what 200,000 entries and 30 s showed.
 */
const FILES = 60_000
const BUDGET_MS = 3000
const SEARCHES = 40
/** The line of waiting walks (plugins/files/settings.ts). */
const LINE = 64

const fx = daemonWithDir(
  'walk-limit',
  tmp => {
    mkdirSync(join(tmp, 'big'))
    for (let i = 0; i < FILES; i++) closeSync(openSync(join(tmp, 'big', `f${i}`), 'w'))
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
  // On a build without the cap: {"503 search stopped after N ms (its time budget)": 40}.
  const refused = 'limit reached: at most 1 concurrent walks (--max-walks), none came free in N ms'
  const other = Object.entries(counts).filter(([o]) => o !== '200' && !o.startsWith(`503 ${refused}`))
  expect(other).toEqual([])
  expect(counts['200']).toBeGreaterThan(0)
}, 120_000)

/** Listings that never read past their first bytes, nested: each is in while the next is asked. */
const READERS = 4

test('a client that does not read its answer holds no walk slot: the walks after it are served', async () => {
  const list = (dir: string) => `/directories/list?path=${encodeURIComponent(dir)}`
  const held: { status: number; body: string }[] = []
  let others: string[] = []
  // Each reader's answer waits behind its narrow window while the next is asked; the last one
  // asks as many listings at once as the line holds. With the slot held until an answer
  // was sent, the second reader and all of these waited their 10 s and got the limit's 503.
  const hold = async (n: number): Promise<void> => {
    if (n === 0) {
      const asked = Array.from({ length: LINE }, () =>
        fx.d
          .fetch(list(fx.tmp))
          .then(async res => (res.status === 200 ? (await res.body?.cancel(), '200') : outcome(res))),
      )
      others = await Promise.all(asked)
      return
    }
    held.push(await narrowGet(fx.d, list(join(fx.tmp, 'big')), () => hold(n - 1)))
  }
  await hold(READERS)
  expect(others).toEqual(Array(LINE).fill('200'))
  expect(held.map(h => h.status)).toEqual(Array(READERS).fill(200))
  for (const h of held) expect(JSON.parse(h.body)).toHaveLength(FILES)
}, 120_000)
