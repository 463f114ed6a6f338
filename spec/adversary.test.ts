/**
 * What a hostile or careless client found (the attacker's pass): each test fails on the
 * executable before its fix. No timing: a run that must end is read to its end, memory is
 * read from /proc, processes from the process list.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { pidsWith, postJson, readSse, startDaemon, waitFor, type Daemon } from './harness'

let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
})

/** The daemon's resident memory, in MiB. */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

describe('a session whose bash exits while a job it started keeps the pipes open', () => {
  // The job inherits bash's stdout and stderr. The run waited for a 50 ms pause in its output
  // before it ended, holding everything in memory meanwhile: behind a `yes`, the run never
  // ended, execd grew by ~60 MiB/s (3.5 GiB within a minute, its client long gone) and then
  // stopped answering at all, DELETE of the session included.
  test('`yes & exit`: the run ends, saying the session ended, with execd memory flat', async () => {
    const sid = (await (await postJson(d, '/session', {})).json()).session_id as string
    const before = rssMiB(d.proc.pid)
    const res = await postJson(d, `/session/${sid}/run`, { command: '(exec -a adversary-exit-flood yes) & exit 0' })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    const last = frames[frames.length - 1]!.data
    expect(last.type).toBe('error')
    expect(last.error.traceback).toContain('the session has ended: its bash exited; create a new session')
    // What the job wrote after the shell left is bounded (1 MiB of "y" lines), not all of it.
    const ys = frames.filter(f => f.data.type === 'stdout').length
    expect(ys).toBeLessThan(1024 * 1024)
    expect(rssMiB(d.proc.pid) - before).toBeLessThan(256)
    // The job is still the session's: it runs until the session is deleted, then it is gone.
    expect(pidsWith('adversary-exit-flood').length).toBe(1)
    expect((await postJson(d, `/session/${sid}/run`, { command: 'echo hi' })).status).toBe(404)
    expect((await d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor('the flood to end', () => pidsWith('adversary-exit-flood').length === 0)
  }, 30_000)
})
