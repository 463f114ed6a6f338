/**
 * Two waits of 30 s count the time execd ran, not a stop of execd (SIGSTOP, a frozen cgroup as
 * `docker pause` makes): a walk's time budget (search, listing), which bounds execd's own work,
 * and a Jupyter kernel channel's opening, whose answer may come during the stop. On the
 * monotonic clock, one stop of 32 s ended a search mid-walk with a 503 'search stopped after
 * 30000 ms (its time budget)' and failed a context whose server had opened its channel during
 * the stop ('kernel channel did not open within 30 s'): on resume the timers ran first.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdirSync, readlinkSync } from 'node:fs'
import { postJson, startDaemon, waitFor, type Daemon } from './harness'
import { type FakeJupyter, okCell, startFakeJupyter } from './kit/fake-jupyter'

const WAIT_MS = 30_000

/**
 * A tree of the system's that a walk takes long enough over to stop execd in the middle of,
 * under the walk's 100,000 entries: made here, 80,000 files took 40 s on a loaded machine.
 */
const tree = ['/usr/share', '/usr/lib', '/usr/include'].find(path => {
  const found = Bun.spawnSync(['sh', '-c', 'find "$1" -xdev 2>/dev/null | head -100000 | wc -l', 'sh', path])
  const entries = Number(found.stdout.toString().trim())
  return entries >= 20_000 && entries < 95_000
})
if (!tree) console.warn('skipped: spec/stopped-peer-waits.test.ts found no system tree of 20,000 to 95,000 entries')

let openChannel: () => void = () => {}
const channelOpens = new Promise<void>(resolve => (openChannel = resolve))
let fj: FakeJupyter
let d: Daemon
beforeAll(async () => {
  if (!tree) return
  fj = startFakeJupyter({ behaviours: { gated: okCell() }, channelGate: () => channelOpens })
  d = await startDaemon({ args: ['--jupyter-host', fj.url, '--jupyter-token', fj.token] })
})
afterAll(async () => {
  openChannel()
  d?.proc.kill('SIGCONT')
  await d?.stop()
  fj?.stop()
})

/** Whether execd holds a directory of the tree open: its walk is under way. */
function walking(): boolean {
  for (const fd of readdirSync(`/proc/${d.proc.pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${d.proc.pid}/fd/${fd}`).startsWith(`${tree}/`)) return true
    } catch {}
  }
  return false
}

test.skipIf(!tree)(
  'a stop longer than 30 s mid-walk and mid-opening: the search and the context go on',
  async () => {
    const context = postJson(d, '/code/context', { language: 'gated' })
    await waitFor('the kernel channel asked for', () => fj.requests.some(r => r.endsWith('/channels')))
    const search = d.fetch(`/files/search?path=${encodeURIComponent(tree ?? '')}&pattern=nothing-matches-this`)
    await waitFor('the walk under way', walking, 20_000)
    d.proc.kill('SIGSTOP')
    try {
      // Caught mid-walk, or the test proves nothing.
      if (!walking()) throw new Error(`the walk of ${tree} ended before execd was stopped`)
      openChannel() // the server answers the upgrade while execd is stopped
      await Bun.sleep(WAIT_MS + 2_000)
    } finally {
      d.proc.kill('SIGCONT')
    }
    const [searched, made] = await Promise.all([search, context])
    // Before: 503 'search stopped after 30000 ms (its time budget)' and 500 'kernel channel did
    // not open within 30 s'.
    expect({
      search: { status: searched.status, body: await searched.json() },
      context: { status: made.status, body: await made.json() },
    }).toMatchObject({ search: { status: 200, body: [] }, context: { status: 200, body: { language: 'gated' } } })
  },
  90_000,
)
