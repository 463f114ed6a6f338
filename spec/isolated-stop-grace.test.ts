/**
 * An isolated session's run that outlasts its interrupt's grace (it ignores SIGINT, or the SIGINT
 * came as bash forked and was lost) is killed, and the session kept, as a `/session`'s is. The
 * grace's SIGKILL went to the children of the process execd started: for a `/session` that is
 * bash, but for an isolated session it is bubblewrap, whose child is the sandbox's init — the
 * whole session died (`exit status 137`, then 404), its shell state with it. A SIGINT lost is
 * now sent again, to the sandbox process that lost it only: the run ends well inside the grace.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pidsWith, waitFor } from './harness'
import { isolatedDaemon, isolationOf, stdoutOf } from './kit/isolated'
import { losesSigint } from './kit/lost-sigint'

const fx = isolatedDaemon('isolated-stop-grace', () => {})

/** A subshell deaf to SIGINT around a sleep no other process on the machine sleeps. */
const deaf = () => {
  const nap = `sleep 30.${crypto.randomUUID().replace(/\D/g, '').slice(0, 6)}`
  // `; :` after the sleep: bash forks it, not execs it, so it is a grandchild of the shell.
  return { nap, code: `echo ready; (trap '' INT; ${nap}; :); echo never` }
}

describe.skipIf(!Bun.which('bwrap'))('an isolated run that ignores SIGINT', () => {
  test('stopped by its timeout: the run says so, the session and its variables are kept', async () => {
    await isolationOf(fx.d).withSession({ workspace: { path: fx.ws } }, async s => {
      await s.run('kept=yes')
      const { nap, code } = deaf()
      const e = await s.run(code, { timeout_seconds: 1 })
      expect(stdoutOf(e)).toEqual(['ready'])
      expect(e.error?.traceback.join('\n')).toContain('timeout')
      expect(stdoutOf(await s.run('echo "$kept"'))).toEqual(['yes'])
      // The grace killed the subshell that ignored SIGINT and its sleep: before, the sleep,
      // orphaned, ran on for its 30 s after the run was told it stopped.
      await waitFor('the sleep to be killed', () => pidsWith(nap).length === 0, 10_000)
    })
  })

  test('stopped by an interrupt (DELETE /command): the run ends interrupted, the session and its variables are kept', async () => {
    await isolationOf(fx.d).withSession({ workspace: { path: fx.ws } }, async s => {
      await s.run('kept=yes')
      const { nap, code } = deaf()
      const running = s.run(code)
      await waitFor('the sleep to run', () => pidsWith(nap).length > 0)
      const res = await fx.d.fetch(`/command?id=${s.sessionId}`, { method: 'DELETE' })
      expect(res.status).toBe(200)
      const e = await running
      expect(stdoutOf(e)).toEqual(['ready'])
      expect(e.error?.name).toBe('CommandExecError')
      expect(e.error?.traceback.join('\n')).not.toContain('session has ended')
      expect(stdoutOf(await s.run('echo "$kept"'))).toEqual(['yes'])
      await waitFor('the sleep to be killed', () => pidsWith(nap).length === 0, 10_000)
    })
  })
})

describe.skipIf(!Bun.which('bwrap'))('an isolated run that lost its SIGINT (kit/lost-sigint.ts)', () => {
  test('the SIGINT is sent again to the sandbox process that lost it, within the grace', async () => {
    await isolationOf(fx.d).withSession({ workspace: { path: fx.ws } }, async s => {
      const nap = `300.${crypto.randomUUID().replace(/\D/g, '').slice(0, 6)}`
      rmSync(join(fx.ws, 'ready'), { force: true })
      const running = s.run(losesSigint(nap, 'ready')) // in the workspace, the run's cwd
      await waitFor('the program to be ready', () => existsSync(join(fx.ws, 'ready')))
      expect((await fx.d.fetch(`/command?id=${s.sessionId}`, { method: 'DELETE' })).status).toBe(200)
      // Old build: [] (the grace's SIGKILL, after 1 s, ended the parent with the sleep).
      expect(stdoutOf(await running)).toEqual(['sleep ended by SIGINT'])
      expect(pidsWith(nap).length).toBe(0)
    })
  })
})
