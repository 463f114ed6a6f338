/**
 * Sessions whose shell exited give their slot back, and are kept for their "has ended" answer
 * only as many as --max-sessions: they were kept until DELETE or --session-idle (30 min), so a
 * loop of create and `exit` grew execd past any limit.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse, waitFor } from './harness'
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
