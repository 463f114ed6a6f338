/**
 * Every public method of the SDK's IsolatedSessionsAdapter (`isolation`) and its session handle,
 * as an SDK user sees them: what create/get/attach/list give back, what a run's handlers and
 * result hold, and what each failure throws (the adapter's own Error for its JSON calls, a
 * SandboxApiException for a run). isolated.test.ts holds what the isolation itself holds.
 */
import { SandboxApiException } from '@alibaba-group/opensandbox'
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isolatedDaemon, isolationOf, stdoutOf } from './kit/isolated'

const fx = isolatedDaemon('isolated-sdk', ({ allowed }) => writeFileSync(join(allowed, 'note.txt'), 'bound\n'))
const isolation = () => isolationOf(fx.d)

/** The adapter's JSON calls throw a plain Error: `<METHOD> <path> failed: <status> <body>`. */
async function jsonFailure(call: () => Promise<unknown>) {
  const e = await call().then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(Error)
  const m = /^(GET|POST|DELETE) (\S+) failed: (\d+) (.*)$/s.exec((e as Error).message)
  expect(m).not.toBeNull()
  return { method: m![1], path: m![2], status: Number(m![3]), body: JSON.parse(m![4]!) }
}

describe.skipIf(!Bun.which('bwrap'))('the SDK IsolationService, method by method', () => {
  test('create echoes every creation parameter; get and attach give them back; list sums the session up', async () => {
    const svc = isolation()
    const s = await svc.create({
      workspace: { path: fx.ws, mode: 'rw' },
      profile: 'balanced',
      binds: [{ source: fx.allowed, dest: '/tmp/allowed', readonly: true }],
      env_passthrough: { mode: 'allow', keys: ['HOME'] },
      uid: 65534,
      gid: 65534,
      idle_timeout_seconds: 0,
    })
    try {
      const echoed = {
        profile: 'balanced',
        workspace: { path: fx.ws, mode: 'rw' },
        binds: [{ source: fx.allowed, dest: '/tmp/allowed', readonly: true }],
        share_net: false,
        env_passthrough: { mode: 'allow', keys: ['HOME'] },
        uid: 65534,
        gid: 65534,
        uid_mode: 'setpriv',
        idle_timeout_seconds: 0,
      }
      expect(s.info).toMatchObject({ session_id: s.sessionId, ...echoed })
      expect(Number.isNaN(Date.parse(s.info.created_at))).toBe(false)

      const state = await s.get()
      // No idle limit: nothing remains to count down (null, as the SDK's type allows).
      expect(state).toMatchObject({ status: 'active', created_at: s.info.created_at, idle_remaining_seconds: null })
      expect(state).toMatchObject(echoed)
      // The SDK's generated schema requires it: the session's start until its first run.
      expect(state.last_run_at).toBe(s.info.created_at)

      expect(stdoutOf(await s.run('id -u; id -g; cat /tmp/allowed/note.txt'))).toEqual(['65534', '65534', 'bound'])
      const ran = await s.get()
      expect(Date.parse(ran.last_run_at!)).toBeGreaterThanOrEqual(Date.parse(s.info.created_at))

      // A stateless client rebuilds the handle from the id alone.
      const attached = await svc.attach(s.sessionId)
      expect(attached.info).toEqual(s.info)
      expect(stdoutOf(await attached.run('echo via attach'))).toEqual(['via attach'])

      // null as the OpenAPI's summary allows (the SDK's IsolatedSessionSummary type says number).
      const summary: unknown = (await svc.list()).find(x => x.session_id === s.sessionId)
      expect(summary).toEqual({
        session_id: s.sessionId,
        status: 'active',
        created_at: s.info.created_at,
        last_run_at: expect.any(String),
        idle_remaining_seconds: null,
      })
    } finally {
      await s.delete()
    }
    expect((await svc.list()).map(x => x.session_id)).not.toContain(s.sessionId)
  })

  test('capabilities: what it says is available, create gives (a client reads it before it creates)', async () => {
    const svc = isolation()
    const caps = await svc.capabilities()
    expect(caps).toMatchObject({ available: true, isolator: 'bubblewrap' })
    expect(caps.version).toMatch(/^\d+\.\d+/)
    for (const key of ['setpriv_available', 'userns_available', 'diff_supported', 'commit_supported'] as const)
      expect(typeof caps[key]).toBe('boolean')
    for (const [mode, available] of [
      ['setpriv', caps.setpriv_available],
      ['userns', caps.userns_available],
    ] as const) {
      if (!available) continue
      await svc.withSession({ workspace: { path: fx.ws }, uid_mode: mode }, async s => {
        expect(stdoutOf(await s.run('echo ran'))).toEqual(['ran'])
      })
    }
  })

  test("a run's handlers and result: init is the session id, output in order, the exit code from the error event", async () => {
    await isolation().withSession({ workspace: { path: fx.ws } }, async s => {
      const seen: string[] = []
      const r = await s.run(
        'echo "$WHO"; echo oops >&2; (exit 3)',
        { envs: { WHO: 'sdk user' } },
        {
          onInit: i => void seen.push(`init ${i.id === s.sessionId}`),
          onStdout: m => void seen.push(`out ${m.text}`),
          onStderr: m => void seen.push(`err ${m.text}`),
          onError: e => void seen.push(`error ${e.name} ${e.value} ${e.traceback.join('|')}`),
          onExecutionComplete: () => void seen.push('complete'),
        },
      )
      expect(seen).toEqual(['init true', 'out sdk user', 'err oops', 'error CommandExecError 3 exit status 3'])
      expect(r.id).toBe(s.sessionId)
      expect(r.exitCode).toBe(3)
      expect(r.complete).toBeUndefined()

      const ok = await s.run('echo fine')
      expect(ok.exitCode).toBe(0)
      expect(ok.error).toBeUndefined()
      expect(ok.complete?.executionTimeMs).toBeGreaterThanOrEqual(0)

      const slow = await s.run('sleep 30', { timeout_seconds: 1 })
      expect(slow.exitCode).toBe(-1)
      expect(slow.error?.traceback.join()).toContain('timeout')
    })
  })

  test('withSession and runOnce delete their session, even when the callback throws', async () => {
    const svc = isolation()
    let id = ''
    await expect(
      svc.withSession({ workspace: { path: fx.ws } }, async s => {
        id = s.sessionId
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(id).not.toBe('')
    expect((await svc.list()).map(x => x.session_id)).not.toContain(id)

    const once = await svc.runOnce('pwd; touch made-here', fx.ws, { workspaceMode: 'overlay', profile: 'strict' })
    expect(once.exitCode).toBe(0)
    expect(stdoutOf(once)).toEqual([fx.ws])
    expect(await svc.list()).toEqual([])
  })

  test("a session whose shell exited is 'dead' in get and list, and its run is a 404 saying so", async () => {
    const svc = isolation()
    const s = await svc.create({ workspace: { path: fx.ws } })
    try {
      const r = await s.run('exit 4')
      expect(r.exitCode).toBe(4)
      // The OpenAPI's SessionState has 'dead'; the SDK's IsolatedSessionState type leaves it out.
      expect((await s.get()).status as string).toBe('dead')
      expect((await svc.list()).find(x => x.session_id === s.sessionId)?.status).toBe('dead')
      const e = await s.run('true').catch((err: unknown) => err)
      expect(e).toBeInstanceOf(SandboxApiException)
      expect(e).toMatchObject({ statusCode: 404, error: { code: 'CONTEXT_NOT_FOUND' } })
      expect((e as Error).message).toContain('has ended (exit status 4)')
    } finally {
      await s.delete()
    }
  })

  test('failures: the JSON calls throw the status and the error body; a run throws a SandboxApiException', async () => {
    const svc = isolation()
    const missing = join(fx.ws, 'missing')
    expect(await jsonFailure(() => svc.create({ workspace: { path: missing } }))).toMatchObject({
      method: 'POST',
      path: '/v1/isolated/session',
      status: 400,
      body: { code: 'INVALID_REQUEST_BODY', message: expect.stringContaining(missing) },
    })
    expect(
      (await jsonFailure(() => svc.create({ workspace: { path: fx.ws }, binds: [{ source: '/etc', readonly: true }] })))
        .body.message,
    ).toContain('outside the allowlist')
    // A mount point bwrap would have to make where the sandbox is read-only (a balanced
    // session's /, a strict one's /usr, a ro workspace): a 400 naming it, not a 500 at start.
    const nowhere = `/execd-no-such-dir-${crypto.randomUUID()}`
    for (const [profile, dest, mode] of [
      ['balanced', nowhere, 'rw'],
      ['strict', `/usr${nowhere}`, 'rw'],
      ['strict', join(fx.ws, 'not-made'), 'ro'],
    ] as const) {
      const f = await jsonFailure(() =>
        svc.create({ workspace: { path: fx.ws, mode }, profile, binds: [{ source: fx.allowed, dest }] }),
      )
      expect({ dest, status: f.status, code: f.body.code }).toEqual({ dest, status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(f.body.message).toContain(`binds[0].dest ${dest} does not exist`)
    }
    const kind = await jsonFailure(() =>
      svc.create({ workspace: { path: fx.ws }, binds: [{ source: fx.allowed, dest: '/etc/passwd' }] }),
    )
    expect(kind).toMatchObject({ status: 400, body: { message: expect.stringContaining('is not a directory') } })
    expect(await svc.list()).toEqual([])
    expect(await jsonFailure(() => svc.attach('no-such-session'))).toMatchObject({
      method: 'GET',
      status: 404,
      body: { code: 'CONTEXT_NOT_FOUND', message: 'isolated session no-such-session not found' },
    })

    const s = await svc.create({ workspace: { path: fx.ws } })
    const badEnv = await s.run('true', { envs: { 'A=B': 'x' } }).catch((err: unknown) => err)
    expect(badEnv).toBeInstanceOf(SandboxApiException)
    expect(badEnv).toMatchObject({ statusCode: 400, error: { code: 'INVALID_REQUEST_BODY' } })
    await s.delete()
    expect(await jsonFailure(() => s.get())).toMatchObject({ status: 404, body: { code: 'CONTEXT_NOT_FOUND' } })
    expect(await jsonFailure(() => s.delete())).toMatchObject({ method: 'DELETE', status: 404 })
    const gone = await s.run('true').catch((err: unknown) => err)
    expect(gone).toMatchObject({ statusCode: 404, error: { code: 'CONTEXT_NOT_FOUND' } })
    // Blank ids and code never reach the daemon.
    await expect(svc.attach(' ')).rejects.toThrow('sessionId cannot be empty')
  })
})
