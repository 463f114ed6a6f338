/**
 * The system clock stepped while execd serves (NTP at a container's start, an operator's
 * `date -s`): intervals execd measures count on the monotonic clock, so a wall clock stepped
 * back does not stretch a kill's grace into hours, nor one stepped forward end a search's time
 * budget at once. execd runs on a clock of its own (spec/kit/wall-clock.c, preloaded): the
 * machine's is shared and left alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, postJson, readSse, startDaemon, waitFor } from './harness'
import { pidsUnder } from './kit/own-pids'
import { type WallClock, wallClock } from './kit/wall-clock'
import { PtyClient } from './pty-client'

const dir = mkdtempSync(join(tmpdir(), 'wall-clock-spec-'))
const clock = wallClock(dir)
if (typeof clock === 'string') console.warn(`skipped: the wall clock stepped (${clock})`)
const HOUR = 3_600_000
/** This daemon's processes: the same file run elsewhere at once has sleeps of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, d.proc.pid)

let d: Daemon
beforeAll(async () => {
  if (typeof clock !== 'string') d = await startDaemon({ env: clock.env })
})
afterAll(async () => {
  if (typeof clock !== 'string') clock.real()
  await d?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The answer, or 'unanswered' after `ms` (a hang is what the old build did: the test's point). */
async function answered(res: Promise<Response>, ms = 30_000): Promise<Response | 'unanswered'> {
  let timer: Timer | undefined
  const late = new Promise<'unanswered'>(r => (timer = setTimeout(() => r('unanswered'), ms)))
  try {
    return await Promise.race([res, late])
  } finally {
    clearTimeout(timer)
  }
}

describe.skipIf(typeof clock === 'string')('the wall clock stepped', () => {
  const c = clock as WallClock
  test('stepped back an hour: DELETE /command still SIGKILLs a job that ignores SIGTERM after the grace', async () => {
    const marker = 'sleep 7191'
    const started = await postJson(d, '/command', {
      // The shell's own command line does not hold the marker: only the two sleeps do.
      command: `s=719; (trap '' TERM; exec sleep \${s}1) & sleep \${s}1`,
      background: true,
    })
    const id = (await readSse(started)).find(f => f.data.type === 'init')!.data.text
    await waitFor('both sleeps', () => pidsWith(marker).length === 2)
    c.stepAndStop(-HOUR)
    try {
      const res = await answered(d.fetch(`/command?id=${id}`, { method: 'DELETE' }))
      expect(res === 'unanswered' ? res : res.status).toBe(200)
      expect(pidsWith(marker)).toEqual([])
    } finally {
      c.real()
    }
  })

  test('stepped back an hour: DELETE /pty still SIGKILLs a terminal that ignores its hang-up', async () => {
    const marker = 'sleep 7192'
    const made = await postJson(d, '/pty', { command: `s=719; trap '' HUP TERM; sleep \${s}2; true` })
    expect(made.status).toBe(201)
    const id = (await made.json()).session_id
    const client = await PtyClient.connect(d, id) // a terminal's process starts on its first attach
    await waitFor('the terminal sleep', () => pidsWith(marker).length === 1)
    c.stepAndStop(-HOUR)
    try {
      const res = await answered(d.fetch(`/pty/${id}`, { method: 'DELETE' }))
      expect(res === 'unanswered' ? res : res.status).toBe(200)
    } finally {
      c.real()
      client.close()
    }
    await waitFor('the terminal gone', () => pidsWith(marker).length === 0)
  })

  test('stepped forward at every read: a search is not past its time budget, execution_time is not hours', async () => {
    const tree = join(dir, 'tree')
    mkdirSync(join(tree, 'a', 'b'), { recursive: true })
    for (const name of ['x.txt', 'a/y.txt', 'a/b/z.txt']) writeFileSync(join(tree, name), name)
    c.race(HOUR)
    try {
      const res = await d.fetch(`/files/search?path=${encodeURIComponent(tree)}&pattern=*.txt`)
      expect(res.status).toBe(200)
      expect(((await res.json()) as { path: string }[]).map(f => f.path).sort()).toEqual(
        ['a/b/z.txt', 'a/y.txt', 'x.txt'].map(n => join(tree, n)),
      )
      // Long enough to take a millisecond: an execution_time of 0 is left off the wire (`true` was).
      const frames = await readSse(await postJson(d, '/command', { command: 'sleep 0.05' }))
      const done = frames.find(f => f.data.type === 'execution_complete')!.data
      expect(typeof done.execution_time).toBe('number')
      expect(done.execution_time).toBeGreaterThanOrEqual(0)
      expect(done.execution_time).toBeLessThan(HOUR)
    } finally {
      c.real()
    }
  })
})
