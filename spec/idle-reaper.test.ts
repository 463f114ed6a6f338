/**
 * The orphan reaper of an idle daemon makes no call: it sweeps when a child exits (SIGCHLD),
 * where it swept twice a second whatever happened (2 of an idle daemon's ~4 wake-ups a second).
 * Seen with strace on the daemon's main thread: no `waitid` while nothing ends, and a sweep as
 * soon as an orphan does, which is reaped. Skipped, visibly, without strace. `EXECD_BIN` runs
 * another build of the executable.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childrenOf, postJson, readSse, startDaemon, waitFor, type Daemon } from './harness'

const strace = Bun.which('strace')
if (!strace) console.warn('skipped: the idle reaper is seen with strace')
const dir = mkdtempSync(join(tmpdir(), 'execd-spec-idle-reaper-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A command whose shell leaves a short `sleep` behind: re-parented to execd, its subreaper. */
async function leaveOrphan(d: Daemon): Promise<void> {
  const frames = await readSse(await postJson(d, '/command', { command: "sh -c 'sleep 0.2 & exit 0'" }))
  expect(frames.some(f => f.data.type === 'execution_complete')).toBe(true)
}

/** The daemon's children that are orphaned sleeps, running or zombies. */
const orphansOf = (pid: number) => childrenOf(pid).filter(c => c.state === 'Z' || c.cmd.startsWith('sleep'))

test.skipIf(!strace)(
  'an idle daemon makes no waitid call; an orphan that ends is still reaped at once',
  async () => {
    const d = await startDaemon({ bin: process.env.EXECD_BIN })
    const pid = d.proc.pid
    const log = join(dir, 'waitid.strace')
    let tracer: ReturnType<typeof Bun.spawn> | undefined
    try {
      // The first owned child makes execd the subreaper and starts the reaper.
      await leaveOrphan(d)
      await waitFor('the first orphan to be reaped', () => orphansOf(pid).length === 0)
      // The main thread alone: the reaper's calls are made on the event loop.
      tracer = Bun.spawn(['strace', '-qq', '-e', 'trace=waitid', '-o', log, '-p', String(pid)], { stderr: 'pipe' })
      await waitFor('strace to attach', () => /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${pid}/status`, 'latin1')))
      // Nothing asked, nothing ending: the sweep every half second made ~4 calls here.
      await Bun.sleep(2000)
      const idle = readFileSync(log, 'latin1')
      expect(idle.match(/waitid\(/g) ?? []).toEqual([])
      // An orphan that ends after the quiet is reaped, by a sweep strace sees.
      await leaveOrphan(d)
      await waitFor('the orphan after the quiet to be reaped', () => orphansOf(pid).length === 0)
      expect(readFileSync(log, 'latin1')).toMatch(/waitid\(P_ALL/)
    } finally {
      tracer?.kill('SIGINT')
      await tracer?.exited
      await d.stop()
    }
  },
  60_000,
)
