/**
 * Runs that leave their shell unable to end a run (core/live-bash/stall.ts): the line around the
 * code is read but does nothing, and no end ever comes. They waited for the run's timeout (and,
 * without one, for the client to leave); now the run ends within a few seconds with an error
 * that says why, and the session is gone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { postJson, readSse, startDaemon, type Daemon, type SseFrame } from './harness'
import { createContext, runCode } from './runtime-kit'

let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
})

const create = async () => {
  const res = await postJson(d, '/session', {})
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
// The old build ends these at this timeout instead.
const run = async (sid: string, command: string) => {
  const res = await postJson(d, `/session/${sid}/run`, { command, timeout: 20000 })
  expect(res.status).toBe(200)
  return readSse(res)
}
const ending = (frames: SseFrame[]) => {
  const end = frames[frames.length - 1]?.data
  return end?.type === 'error' ? end.error.traceback.join('; ') : end?.type
}

const STALLING = [
  'echo before; set -n',
  'shopt -s extdebug; trap false DEBUG',
  'builtin() { :; }; readonly -f builtin',
  'enable -n enable printf',
  'readonly POSIXLY_CORRECT',
]

for (const code of STALLING) {
  test(`\`${code}\` ends its run at once, saying why, and the session`, async () => {
    const sid = await create()
    const frames = await run(sid, code)
    const why = ending(frames)
    expect(why).toContain("the run's code left the shell unable to end a run")
    expect(why).not.toContain('timeout')
    const again = await postJson(d, `/session/${sid}/run`, { command: 'echo after' })
    expect(again.status).toBe(404)
  })
}

test('runs quiet for seconds, or reading their stdin, end as they should', async () => {
  const sid = await create()
  expect(ending(await run(sid, 'readonly POSIXLY_CORRECT=1'))).toBe('execution_complete')
  // Quiet for longer than the first look: the shell waits for its child, not its input.
  expect(ending(await run(sid, 'sleep 2.5; read -r x || echo eof'))).toBe('execution_complete')
  expect(ending(await run(sid, 'echo still'))).toBe('execution_complete')
})

test('a bash code context says so too, and starts a fresh shell', async () => {
  const id = await createContext(d, 'bash')
  // The old build: no end at all (the test's own timeout).
  const events = await runCode(d, 'set -n', { id, language: 'bash' })
  const error = events.find(e => e.type === 'error') as { error?: { evalue?: string } } | undefined
  expect(error?.error?.evalue).toContain("the run's code left the shell unable to end a run")
  const next = await runCode(d, 'echo fresh', { id, language: 'bash' })
  expect(next.filter(e => e.type === 'stdout').map(e => (e as { text?: string }).text)).toEqual(['fresh\n'])
})
