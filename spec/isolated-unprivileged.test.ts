/**
 * An unprivileged execd: isolated sessions start where bubblewrap can (user namespaces), and
 * what it cannot do there is named for what it is. setpriv is installed but cannot switch users
 * without privilege; the capabilities said "setpriv (util-linux) is missing", which sent one
 * installing a package that was there.
 */
import { afterAll, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, startDaemon } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-unprivileged-'))
chmodSync(dir, 0o777)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const setpriv = Bun.which('setpriv')
const usable = !!Bun.which('bwrap') && !!setpriv && process.getuid?.() === 0

test.skipIf(!usable)('as nobody: setpriv is said to be there but unable to switch users, not missing', async () => {
  const d = await startDaemon({
    under: [setpriv!, '--reuid=65534', '--regid=65534', '--clear-groups'],
    env: { TMPDIR: dir, HOME: '/nonexistent', EXECD_PYTHON_SPARE: '0' },
  })
  try {
    const caps = await (await d.fetch('/v1/isolated/capabilities')).json()
    if (!caps.available) return // no user namespaces for nobody here: nothing more to see
    expect(caps.setpriv_available).toBe(false)
    expect(caps.message).toContain(`setpriv (${setpriv}) cannot switch users in the sandbox (execd is not root)`)
    expect(caps.message).not.toContain('is missing')
    // A session without a uid starts; one asking for a uid is refused with the reason.
    const ws = mkdtempSync(join(dir, 'ws-'))
    chmodSync(ws, 0o777)
    const made = await postJson(d, '/v1/isolated/session', { workspace: { path: ws } })
    expect(made.status).toBe(201)
    const { session_id: id } = await made.json()
    await d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    const refused = await postJson(d, '/v1/isolated/session', { workspace: { path: ws }, uid: 0 })
    expect(refused.status).toBe(503)
    // The capabilities' reason, where it said "setpriv is unavailable" alone (sixteenth pass).
    expect((await refused.json()).message).toContain(
      `uid_mode setpriv: setpriv (${setpriv}) cannot switch users in the sandbox (execd is not root)`,
    )
  } finally {
    await d.stop()
  }
})
