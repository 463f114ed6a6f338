/**
 * Sessions whose shell exited give their slot back, and are kept for their "has ended" answer
 * only as many as --max-sessions: they were kept until DELETE or --session-idle (30 min), so a
 * loop of create and `exit` grew execd past any limit. A session whose shell exited while a job
 * it started keeps the shell's pipes open ends its run, the job's output after it bounded.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, rssMiB, waitFor } from './harness'
import { pidsUnder } from './kit/own-pids'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone(() => ['--max-sessions', '2'])
/** This daemon's processes: the same file run elsewhere at once has jobs of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

async function endedSession(command = 'exit 3'): Promise<string> {
  const res = await postJson(fx.d, '/session', {})
  expect(res.status).toBe(200)
  const id = (await res.json()).session_id
  const frames = await readSse(await postJson(fx.d, `/session/${id}/run`, { command }))
  expect(frames.at(-1)?.data.type).toBe('error')
  return id
}

async function answer(id: string): Promise<{ status: number; message: string }> {
  const res = await postJson(fx.d, `/session/${id}/run`, { command: 'true' })
  return { status: res.status, message: (await res.json()).message }
}

describe('a session whose bash exits while a job it started keeps the pipes open', () => {
  // The job inherits bash's stdout and stderr. The run waited for a 50 ms pause in its output
  // before it ended, holding everything in memory meanwhile: behind a `yes`, the run never
  // ended, execd grew by ~60 MiB/s (3.5 GiB within a minute, its client long gone) and then
  // stopped answering at all, DELETE of the session included.
  test('`yes & exit`: the run ends, saying the session ended, with execd memory flat', async () => {
    const sid = (await (await postJson(fx.d, '/session', {})).json()).session_id as string
    const before = rssMiB(fx.d.proc.pid)
    const res = await postJson(fx.d, `/session/${sid}/run`, { command: '(exec -a session-exit-flood yes) & exit 0' })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    const last = frames[frames.length - 1]!.data
    expect(last.type).toBe('error')
    expect(last.error.traceback).toContain('the session has ended: its bash exited; create a new session')
    // What the job wrote after the shell left is bounded (1 MiB of "y" lines), not all of it.
    const ys = frames.filter(f => f.data.type === 'stdout').length
    expect(ys).toBeLessThan(1024 * 1024)
    expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(256)
    // The job is still the session's: it runs until the session is deleted, then it is gone.
    expect(pidsWith('session-exit-flood').length).toBe(1)
    expect((await postJson(fx.d, `/session/${sid}/run`, { command: 'echo hi' })).status).toBe(404)
    expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor('the flood to end', () => pidsWith('session-exit-flood').length === 0)
  }, 30_000)
})

test('past --max-sessions ended sessions, the oldest answers "not found"; the others "has ended"', async () => {
  const first = await endedSession('sleep 600.217 & exit 3')
  expect(pidsWith('600.217')).toHaveLength(1)
  const second = await endedSession()
  expect(await answer(first)).toEqual({
    status: 404,
    message: `session ${first} has ended (exit status 3); create a new session`,
  })
  const third = await endedSession()
  expect(await answer(first)).toEqual({ status: 404, message: `session ${first} not found` })
  for (const id of [second, third]) expect((await answer(id)).message).toContain('has ended')
  // What the first left running is ended with it, as by a DELETE (it ran on while kept).
  await waitFor("the first session's job to end", () => pidsWith('600.217').length === 0)
  // Live sessions are still bounded by the limit, ended ones take no slot.
  const live = [await postJson(fx.d, '/session', {}), await postJson(fx.d, '/session', {})]
  expect(live.map(r => r.status)).toEqual([200, 200])
  expect((await postJson(fx.d, '/session', {})).status).toBe(503)
})
