/**
 * A staging dir (`.execd-sessions-XXXXXX`, core/temp-dir.ts) is an owned dir between its mkdtemp
 * and its rename: another execd sharing TMPDIR sweeps it only once its lock is proven unheld.
 * It was judged by its mtime against the sweeping execd's wall clock: with that clock an hour
 * ahead (stepped forward) a live execd's staging dir was removed under it, and a dead one's
 * stayed an hour. The live owner here is this test, holding the lock as execd does (a socket
 * listened on in the dir), or still before it (no socket yet); the sweeper is a real execd on
 * a clock of its own (spec/kit/wall-clock.c).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, postJson, startDaemon, waitFor } from './harness'
import { type WallClock, wallClock } from './kit/wall-clock'

const dir = mkdtempSync(join(tmpdir(), 'staging-sweep-spec-'))
const clock = wallClock(dir)
if (typeof clock === 'string') console.warn(`skipped: the staging sweep on a stepped clock (${clock})`)
const HOUR = 3_600_000
const OWNER_SOCKET = '.owner.sock'

const daemons: Daemon[] = []
const locks: { stop(force: boolean): void }[] = []
afterAll(async () => {
  if (typeof clock !== 'string') clock.real()
  for (const lock of locks) lock.stop(true)
  for (const d of daemons) await d.stop()
  rmSync(dir, { recursive: true, force: true })
})

let temp = ''
beforeAll(() => {
  temp = join(dir, 'tmp')
  mkdirSync(temp, { mode: 0o755 })
})

const staging = () => mkdtempSync(join(temp, '.execd-sessions-'))

/** A staging dir whose owner holds its lock, as execd does between its listen and its rename. */
function held(): string {
  const path = staging()
  locks.push(Bun.listen({ unix: join(path, OWNER_SOCKET), socket: { open: s => void s.end(), data() {} } }))
  return path
}

/** A staging dir whose owner was killed after its listen: the socket is there, nobody listens. */
function dead(): string {
  const path = staging()
  const made = join(dir, `${crypto.randomUUID()}.sock`)
  const listener = Bun.listen({ unix: made, socket: { data() {} } })
  renameSync(made, join(path, OWNER_SOCKET)) // moved first: a stop removes the file where it was made
  listener.stop(true)
  return path
}

/** A new execd on the test's clock opens a session: its first sessions dir sweeps the others. */
async function sweepBy(env: Record<string, string> = {}): Promise<void> {
  const d = await startDaemon({ env: { TMPDIR: temp, ...env } })
  daemons.push(d)
  expect((await postJson(d, '/session', {})).status).toBe(200)
}

test.skipIf(typeof clock === 'string')(
  "an execd whose clock runs two hours ahead leaves a live execd's staging dirs; a dead one's goes",
  async () => {
    const c = clock as WallClock
    const live = held()
    const beforeListen = staging()
    const killed = dead()
    c.stepAndStop(2 * HOUR)
    try {
      await sweepBy(c.env)
      await waitFor("the dead owner's staging dir swept", () => !existsSync(killed))
    } finally {
      c.real()
    }
    // Before: both removed, the hour judged on the sweeper's clock against their mtime.
    expect([existsSync(live), existsSync(beforeListen)]).toEqual([true, true])
  },
)

test('a staging dir whose owner was killed is swept at once, not an hour later', async () => {
  const killed = dead()
  const live = held()
  await sweepBy()
  // Before: kept until its mtime was an hour old.
  await waitFor("the dead owner's staging dir swept", () => !existsSync(killed), 5_000)
  expect(existsSync(live)).toBe(true)
})

test('a staging dir left without its socket goes once the filesystem dates it ten minutes back', async () => {
  // An execd killed between its mkdtemp and its listen, or whose listen failed (EMFILE, a full
  // disk). Its mtime says how old it is by the kernel's clock, which the sweeper reads from a
  // dir of its own there, not from its own clock.
  const left = staging()
  const hourAgo = new Date(Date.now() - HOUR)
  utimesSync(left, hourAgo, hourAgo)
  const fresh = staging()
  await sweepBy()
  // Before: both kept for ever (nothing proved the first one's owner gone).
  await waitFor('the socketless staging dir an hour old swept', () => !existsSync(left), 5_000)
  expect(existsSync(fresh)).toBe(true)
  expect(readdirSync(temp).filter(name => name.includes('-clock-'))).toEqual([])
})
