/**
 * Runs that leave an isolated session's shell unable to end a run (spec/session-framing has
 * them for `/session`). The check that tells such a shell looks at bash's own process; a
 * session's bash is bubblewrap's grandchild, and the check looked at bubblewrap, which never
 * reads its input: the run waited for its whole timeout.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-stall')
const STALLED = "the run's code left the shell unable to end a run"
/** Long enough that a run ended by it is told from one ended by the check (after ~1 s). */
const TIMEOUT_SECONDS = 20

const ws = () => {
  const p = join(fx.tmp, `ws-${crypto.randomUUID()}`)
  mkdirSync(p)
  return p
}

describe.skipIf(!Bun.which('bwrap'))('an isolated session whose run leaves its shell unable to end it', () => {
  for (const [profile, mode, code] of [
    ['strict', 'rw', 'echo before; set -n'],
    ['balanced', 'overlay', 'enable -n enable printf'],
  ] as const) {
    test(`${profile}, ${mode}: \`${code}\` ends its run at once, saying why, and the session's shell`, async () => {
      await isolationOf(fx.d).withSession({ profile, workspace: { path: ws(), mode } }, async s => {
        const e = await s.run(code, { timeout_seconds: TIMEOUT_SECONDS })
        const why = e.error?.traceback.join('\n') ?? ''
        expect(why).toContain(STALLED)
        expect(why).not.toContain('timeout')
        const after = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code: 'echo after' }),
        })
        expect(after.status).toBe(404)
      })
    })
  }

  test('a run quiet for seconds, then reading its stdin, ends as it should', async () => {
    await isolationOf(fx.d).withSession({ workspace: { path: ws() } }, async s => {
      const e = await s.run('sleep 2.5; read -r x || echo eof', { timeout_seconds: TIMEOUT_SECONDS })
      expect(stdoutOf(e)).toEqual(['eof'])
      expect(stdoutOf(await s.run('echo still'))).toEqual(['still'])
    })
  })
})
