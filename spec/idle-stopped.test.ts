/**
 * Idle expiry counts the time execd ran, not the time it was stopped (SIGSTOP, a frozen cgroup
 * as `docker pause` makes): a context idle 20 s was closed the moment execd resumed from a 25 s
 * stop (the fifteenth attacker's pass), its client never given a chance to use it. Each kind is
 * left idle less than its limit, execd is stopped longer than the limit, and on resume each is
 * still there; then each still expires once idle long enough while execd runs.
 */
import { afterAll, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, waitFor } from './harness'
import { createContext } from './runtime-kit'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-idle-stopped-'))
chmodSync(dir, 0o755)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const IDLE_S = 4

test('a stop of execd longer than the idle limits closes no context, session or isolated session', async () => {
  const idleMs = String(IDLE_S * 1000)
  const d = await startDaemon({ args: ['--context-idle', idleMs, '--session-idle', idleMs], cwd: dir })
  try {
    const context = await createContext(d, 'bash')
    const session = (await (await postJson(d, '/session', {})).json()).session_id as string
    const caps = await (await d.fetch('/v1/isolated/capabilities')).json()
    let isolated: string | undefined
    if (caps.available) {
      const made = await postJson(d, '/v1/isolated/session', {
        workspace: { path: dir },
        idle_timeout_seconds: IDLE_S,
      })
      expect(made.status).toBe(201)
      isolated = (await made.json()).session_id
    }
    d.proc.kill('SIGSTOP')
    await Bun.sleep(IDLE_S * 1000 + 3000)
    d.proc.kill('SIGCONT')
    // Before the fix: 404s, each closed by the first sweep after the resume.
    expect((await d.fetch(`/code/contexts/${context}`)).status).toBe(200)
    const run = await readSse(await postJson(d, `/session/${session}/run`, { command: 'echo $$' }))
    const shell = Number(run.find(f => f.data.type === 'stdout')?.data.text)
    expect(shell).toBeGreaterThan(0)
    if (isolated) expect((await d.fetch(`/v1/isolated/session/${isolated}`)).status).toBe(200)
    // Idle while execd runs, each still goes.
    const gone = async (path: string) => (await d.fetch(path)).status === 404
    await waitFor('the idle context to close', () => gone(`/code/contexts/${context}`), 30_000)
    if (isolated) await waitFor('the idle isolated session', () => gone(`/v1/isolated/session/${isolated}`), 30_000)
    // A run would be a use: the session's end is seen as its shell's.
    await waitFor('the idle session to end', () => !existsSync(`/proc/${shell}`), 30_000)
    expect((await postJson(d, `/session/${session}/run`, { command: 'true' })).status).toBe(404)
  } finally {
    d.proc.kill('SIGCONT')
    await d.stop()
  }
}, 90_000)
