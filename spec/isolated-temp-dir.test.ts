/**
 * execd's temp dir holds every session's overlay layer and run files, /session's run files and
 * every command's log: no session may see into it. A workspace (or bind) that holds it is
 * refused; a TMPDIR that a balanced session's / would show is a private tmpfs there, as /tmp is.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { postJson, startDaemon, type Daemon } from './harness'
import { isolationOf, outsideTmpDir, stdoutOf } from './kit/isolated'

const bwrap = Bun.which('bwrap')

// Outside /tmp, as a TMPDIR on a volume or /var/tmp is.
const temp = bwrap ? outsideTmpDir('execd-spec-tmpdir-') : undefined
let d: Daemon

describe.skipIf(!temp)("execd's temp dir and the sessions", () => {
  beforeAll(async () => {
    mkdirSync(join(temp!, 'ws'))
    d = await startDaemon({ env: { TMPDIR: temp! }, args: ['--isolated-binds', dirname(temp!)] })
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(temp!, { recursive: true, force: true })
  })

  test('a workspace, extra_writable or bind that holds it is a 400; one within it is not', async () => {
    for (const body of [
      { workspace: { path: temp! } },
      { workspace: { path: dirname(temp!) } },
      { workspace: { path: join(temp!, 'ws') }, extra_writable: [dirname(temp!)] },
      { workspace: { path: join(temp!, 'ws') }, binds: [{ source: dirname(temp!), dest: '/mnt/x' }] },
    ]) {
      const res = await postJson(d, '/v1/isolated/session', body)
      const answer = await res.json()
      // A session made on the build before: deleted again, the test failing on its status.
      if (answer.session_id) await d.fetch(`/v1/isolated/session/${answer.session_id}`, { method: 'DELETE' })
      expect({ status: res.status, code: answer.code }).toEqual({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(answer.message).toContain("holds execd's temp dir")
    }
    const within = await postJson(d, '/v1/isolated/session', { workspace: { path: join(temp!, 'ws') } })
    expect(within.status).toBe(201)
    await d.fetch(`/v1/isolated/session/${(await within.json()).session_id}`, { method: 'DELETE' })
  })

  test("balanced: another session's overlay files and a command's log are not there; its own temp dir is", async () => {
    const svc = isolationOf(d)
    const a = await svc.create({ workspace: { path: join(temp!, 'ws'), mode: 'overlay' } })
    try {
      await a.run('echo secret-of-a > private.txt')
      const cmd = await postJson(d, '/command', { command: 'echo command-output-secret' })
      await cmd.text()
      const real = realpathSync(temp!)
      // The patterns as written do not match themselves (this run's own file holds them).
      const seen = await svc.runOnce(
        `grep -rlE 'secret-of-[a]|command-output-secre[t]' ${real} 2>/dev/null; echo searched`,
        join(temp!, 'ws'),
        { profile: 'balanced' },
      )
      expect(stdoutOf(seen)).toEqual(['searched'])
      // TMPDIR is the session's own, writable as /tmp is (it was execd's, 0700, for a uid 65534).
      await svc.withSession({ workspace: { path: join(temp!, 'ws') }, profile: 'balanced', uid: 65534 }, async s => {
        const own = await s.run('echo "$TMPDIR"; f=$(mktemp) && echo made-temp && rm "$f"')
        expect(stdoutOf(own)).toEqual([temp!, 'made-temp'])
      })
    } finally {
      await a.delete()
    }
  })
})

describe.skipIf(!bwrap)('a TMPDIR under /tmp', () => {
  const under = mkdtempSync('/tmp/execd-spec-tmpdir-')
  let d2: Daemon
  beforeAll(async () => {
    mkdirSync(join(under, 'ws'))
    d2 = await startDaemon({ env: { TMPDIR: under } })
  })
  afterAll(async () => {
    await d2?.stop()
    rmSync(under, { recursive: true, force: true })
  })

  test('is the session’s own in both profiles, writable by a uid-switched shell', async () => {
    const svc = isolationOf(d2)
    for (const profile of ['strict', 'balanced'] as const) {
      // It was the 0755 root-owned skeleton of the code dir's mount point: mktemp failed.
      await svc.withSession({ workspace: { path: join(under, 'ws') }, profile, uid: 65534 }, async s => {
        const own = await s.run('echo "$TMPDIR"; f=$(mktemp) && echo made-temp && rm "$f"')
        expect({ profile, out: stdoutOf(own) }).toEqual({ profile, out: [under, 'made-temp'] })
      })
    }
  })
})
