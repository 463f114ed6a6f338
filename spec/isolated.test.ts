/**
 * Isolated sessions (`/v1/isolated/*`) through the official SDK's IsolationService and raw
 * HTTP, against the compiled executable and the real bubblewrap: the sessions' contract, and
 * that the isolation holds (writes, processes, network).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, runCli, startDaemon, waitFor, type Daemon } from './harness'
import { sdkFor } from './sdk'

const bwrap = Bun.which('bwrap')

let d: Daemon
let tmp: string
let ws: string
let allowed: string
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'execd-spec-isolated-'))
  ws = join(tmp, 'ws')
  allowed = join(tmp, 'allowed')
  mkdirSync(ws)
  mkdirSync(allowed)
  writeFileSync(join(ws, 'seed.txt'), 'seed\n')
  d = await startDaemon({ args: ['--isolated-binds', allowed] })
})
afterAll(async () => {
  await d?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

const isolation = () => sdkFor(d).isolation!
const stdout = (e: { logs: { stdout: { text: string }[] } }) => e.logs.stdout.map(l => l.text)

describe.skipIf(!bwrap)('the SDK IsolationService end to end', () => {
  test('capabilities are probed: bubblewrap available with its version', async () => {
    const caps = await isolation().capabilities()
    expect(caps.available).toBe(true)
    expect(caps.isolator).toBe('bubblewrap')
    expect(caps.version).toMatch(/^\d+\.\d+/)
    expect(caps.setpriv_available).toBe(Bun.which('setpriv') !== null)
    expect(typeof caps.userns_available).toBe('boolean')
    expect(typeof caps.diff_supported).toBe('boolean')
  })

  test('create, run (state persists), get, list, delete', async () => {
    const svc = isolation()
    const s = await svc.create({ workspace: { path: ws, mode: 'rw' }, profile: 'strict', idle_timeout_seconds: 600 })
    expect(s.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.info.workspace).toEqual({ path: ws, mode: 'rw' })
    const first = await s.run('x=41; greet() { echo "hi $1"; }; pwd')
    expect(first.exitCode).toBe(0)
    expect(stdout(first)).toEqual([ws])
    const second = await s.run('echo $((x + 1)); greet there; cat seed.txt')
    expect(stdout(second)).toEqual(['42', 'hi there', 'seed'])

    const failed = await s.run('echo out; echo err >&2; (exit 7)')
    expect(failed.exitCode).toBe(7)
    expect(failed.error?.name).toBe('CommandExecError')
    expect(failed.logs.stderr.map(l => l.text)).toEqual(['err'])

    const state = await s.get()
    expect(state.status).toBe('active')
    expect(state.profile).toBe('strict')
    expect(state.idle_timeout_seconds).toBe(600)
    expect(state.idle_remaining_seconds).toBeGreaterThan(0)
    expect(state.idle_remaining_seconds).toBeLessThanOrEqual(600)
    expect(state.last_run_at).toBeDefined()

    const attached = await svc.attach(s.sessionId)
    expect(attached.info.workspace).toEqual({ path: ws, mode: 'rw' })
    const listed = await svc.list()
    expect(listed.map(x => x.session_id)).toContain(s.sessionId)

    await s.delete()
    expect((await svc.list()).map(x => x.session_id)).not.toContain(s.sessionId)
    expect(s.get()).rejects.toThrow(/404/)
  })

  test('envs and timeout_seconds of a run', async () => {
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const e = await s.run('echo "$GREETING"', { envs: { GREETING: 'hello there' } })
      expect(stdout(e)).toEqual(['hello there'])
      const slow = await s.run('sleep 30; echo never', { timeout_seconds: 1 })
      expect(slow.error?.name).toBe('CommandExecError')
      expect(stdout(slow)).toEqual([])
      // The session survived its interrupted run.
      expect(stdout(await s.run('echo still here'))).toEqual(['still here'])
    })
  })

  test('runOnce: a throwaway session, deleted after', async () => {
    const svc = isolation()
    const before = (await svc.list()).length
    const e = await svc.runOnce('echo once > once.txt; cat once.txt', ws)
    expect(stdout(e)).toEqual(['once'])
    expect(readFileSync(join(ws, 'once.txt'), 'utf8')).toBe('once\n')
    expect((await svc.list()).length).toBe(before)
  })

  test('withSession deletes the session even when the callback throws', async () => {
    const svc = isolation()
    let id = ''
    await expect(
      svc.withSession({ workspace: { path: ws } }, async s => {
        id = s.sessionId
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect((await svc.list()).map(x => x.session_id)).not.toContain(id)
  })
})

describe.skipIf(!bwrap)('isolation holds', () => {
  test('strict: writes outside the workspace and the writable set fail; /tmp is private', async () => {
    // The test's dir is under /tmp: inside, that is the session's own tmpfs (only the
    // workspace is mounted in it), so a write there lands in the session, never on the host.
    const outside = join(tmp, 'outside.txt')
    writeFileSync(join(tmp, 'host-only.txt'), 'host\n')
    const e = await isolation().runOnce(
      `echo x > ${outside}; echo x > /etc/execd-probe || echo etc-refused; echo x > /usr/execd-probe || echo usr-refused; ` +
        `echo t > /tmp/t && echo tmp-ok; test -e ${join(tmp, 'host-only.txt')} || echo host-tmp-hidden`,
      ws,
    )
    expect(stdout(e)).toEqual(['etc-refused', 'usr-refused', 'tmp-ok', 'host-tmp-hidden'])
    expect(existsSync(outside)).toBe(false)
    expect(existsSync('/etc/execd-probe')).toBe(false)
    expect(existsSync('/tmp/t')).toBe(false)
  })

  test('extra_writable and binds (within the allowlist) are writable; others are refused', async () => {
    const svc = isolation()
    const e = await svc.runOnce(`echo b > /mnt/data/b.txt && echo bound`, ws, {
      binds: [{ source: allowed, dest: '/mnt/data' }],
    })
    expect(stdout(e)).toEqual(['bound'])
    expect(readFileSync(join(allowed, 'b.txt'), 'utf8')).toBe('b\n')
    const ro = await svc.runOnce(`cat /mnt/data/b.txt; echo c > /mnt/data/c.txt || echo ro-refused`, ws, {
      binds: [{ source: allowed, dest: '/mnt/data', readonly: true }],
    })
    expect(stdout(ro)).toEqual(['b', 'ro-refused'])
    await svc.withSession({ workspace: { path: ws }, extra_writable: [allowed] }, async s => {
      expect(stdout(await s.run(`echo e > ${join(allowed, 'e.txt')} && echo extra-ok`))).toEqual(['extra-ok'])
      const listed = (await svc.list()).find(x => x.session_id === s.sessionId)
      expect(listed?.status).toBe('active')
      expect(listed?.idle_remaining_seconds).toBeGreaterThan(0)
    })
    expect(readFileSync(join(allowed, 'e.txt'), 'utf8')).toBe('e\n')

    const res = await postJson(d, '/v1/isolated/session', { workspace: { path: ws }, binds: [{ source: '/etc' }] })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toContain('allowlist')
    const res2 = await postJson(d, '/v1/isolated/session', { workspace: { path: ws }, extra_writable: [tmp] })
    expect(res2.status).toBe(400)
  })

  test('ps shows only the processes of the session', async () => {
    const e = await isolation().runOnce('ps -eo pid=,comm=', ws)
    const pids = stdout(e).map(l => Number(l.trim().split(/\s+/)[0]))
    expect(Math.max(...pids)).toBeLessThan(20)
    expect(stdout(e).join('\n')).not.toContain('execd')
  })

  test('no network without share_net: a loopback listener of the host is unreachable', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('reached') })
    try {
      const probe = `exec 3<>/dev/tcp/127.0.0.1/${server.port} && echo connected || echo refused`
      const closed = await isolation().runOnce(probe, ws)
      expect(stdout(closed)).toEqual(['refused'])
      const open = await isolation().runOnce(probe, ws, { shareNet: true })
      expect(stdout(open)).toEqual(['connected'])
    } finally {
      server.stop(true)
    }
  })

  test('ro: the workspace is readable, writes are refused', async () => {
    const e = await isolation().runOnce('cat seed.txt; echo x > new.txt; echo "rc=$?"', ws, { workspaceMode: 'ro' })
    expect(stdout(e)).toEqual(['seed', 'rc=1'])
    expect(e.logs.stderr.map(l => l.text).join('\n')).toContain('Read-only file system')
    expect(existsSync(join(ws, 'new.txt'))).toBe(false)
  })

  test('balanced: the rest of the filesystem is readable but not writable; strict does not see it', async () => {
    const probe = 'test -d /var && echo var-visible; echo y > /var/execd-probe || echo var-refused'
    const balanced = await isolation().runOnce(probe, ws, { profile: 'balanced' })
    expect(stdout(balanced)).toEqual(['var-visible', 'var-refused'])
    const strict = await isolation().runOnce('test -d /var && echo var-visible || echo var-hidden', ws)
    expect(stdout(strict)).toEqual(['var-hidden'])
    expect(existsSync('/var/execd-probe')).toBe(false)
  })

  test('uid 65534 owns the files it creates', async () => {
    const shared = join(tmp, 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o777)
    await isolation().withSession({ workspace: { path: shared }, uid: 65534, gid: 65534 }, async s => {
      expect(stdout(await s.run('id -u; id -g; touch mine'))).toEqual(['65534', '65534'])
    })
    const st = statSync(join(shared, 'mine'))
    expect([st.uid, st.gid]).toEqual([65534, 65534])
  })
  test('uid_mode userns: the shell is uid 65534 in its own user namespace', async () => {
    const caps = await isolation().capabilities()
    if (!caps.userns_available) throw new Error(`no user namespaces here: ${caps.message}`)
    await isolation().withSession({ workspace: { path: ws }, uid: 65534, gid: 65534, uid_mode: 'userns' }, async s => {
      expect(stdout(await s.run('id -u; id -g'))).toEqual(['65534', '65534'])
      expect((await s.get()).uid_mode).toBe('userns')
    })
  })

  test('env_passthrough: allow and deny lists of the environment', async () => {
    const allow = await isolation().withSession(
      { workspace: { path: ws }, env_passthrough: { mode: 'allow', keys: ['PATH'] } },
      async s => stdout(await s.run('echo "path=${PATH:+set} home=${HOME:-unset}"')),
    )
    expect(allow).toEqual(['path=set home=unset'])
    const deny = await isolation().withSession(
      { workspace: { path: ws }, env_passthrough: { mode: 'deny', keys: ['HOME'] } },
      async s => stdout(await s.run('echo "path=${PATH:+set} home=${HOME:-unset}"')),
    )
    expect(deny).toEqual(['path=set home=unset'])
  })
})

describe.skipIf(!bwrap)('lifecycle and errors', () => {
  test('idle timeout destroys the session and its processes', async () => {
    const svc = isolation()
    const s = await svc.create({ workspace: { path: ws }, idle_timeout_seconds: 1 })
    const marker = `idle-${crypto.randomUUID().slice(0, 8)}`
    await s.run(`(exec -a ${marker} sleep 300) & disown; echo started`)
    await waitFor('the idle session sleeper', () => pidsWith(marker).length === 1)
    await waitFor('the idle session to go', async () => !(await svc.list()).some(x => x.session_id === s.sessionId))
    await waitFor('its processes to go', () => pidsWith(marker).length === 0)
    const res = await d.fetch(`/v1/isolated/session/${s.sessionId}`)
    expect(res.status).toBe(404)
  })

  test('delete kills everything the session started, even what left its process group', async () => {
    const s = await isolation().create({ workspace: { path: ws } })
    const marker = `del-${crypto.randomUUID().slice(0, 8)}`
    await s.run(`(exec -a ${marker}-a sleep 300) & setsid bash -c 'exec -a ${marker}-b sleep 300' & echo started`)
    await waitFor('both sleeps to start', () => pidsWith(marker).length === 2)
    await s.delete()
    expect(pidsWith(marker)).toEqual([])
  })

  test('shutdown kills every session and removes their temp dirs (overlay layers included)', async () => {
    const own = await startDaemon()
    const marker = `shut-${crypto.randomUUID().slice(0, 8)}`
    const svc = sdkFor(own).isolation!
    const s = await svc.create({ workspace: { path: ws, mode: 'overlay' } })
    await s.run(`(exec -a ${marker} sleep 300) & echo x > in-overlay.txt`)
    const dirs = () => readdirSync(tmpdir()).filter(n => n.startsWith(`execd-isolated-${own.proc.pid}-`))
    expect(dirs().length).toBe(1)
    // The background sleep is started, not necessarily exec'd, when the run ends.
    await waitFor('the session sleeper', () => pidsWith(marker).length === 1)
    expect(await own.stop()).toBe(0)
    expect(pidsWith(marker)).toEqual([])
    expect(dirs()).toEqual([])
    expect(existsSync(join(ws, 'in-overlay.txt'))).toBe(false)
  })

  test('--max-isolated-sessions: one more is refused with 503 naming the limit', async () => {
    const own = await startDaemon({ args: ['--max-isolated-sessions', '1'] })
    try {
      const svc = sdkFor(own).isolation!
      const s = await svc.create({ workspace: { path: ws } })
      const res = await postJson(own, '/v1/isolated/session', { workspace: { path: ws } })
      expect(res.status).toBe(503)
      expect((await res.json()).message).toContain('max-isolated-sessions')
      await s.delete()
      const again = await postJson(own, '/v1/isolated/session', { workspace: { path: ws } })
      expect(again.status).toBe(201)
    } finally {
      await own.stop()
    }
  })

  test('DELETE /command?id=<session> interrupts its run and keeps the session', async () => {
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      // A duration no other process on the machine sleeps: the marker of this run's sleep.
      const nap = `sleep 30.${Date.now() % 100000}`
      const running = s.run(`echo go; ${nap}; echo never`)
      await waitFor('the sleep to run', () => pidsWith(nap).length > 0)
      const res = await d.fetch(`/command?id=${s.sessionId}`, { method: 'DELETE' })
      expect(res.status).toBe(200)
      const e = await running
      expect(e.error?.name).toBe('CommandExecError')
      expect(stdout(e)).toEqual(['go'])
      expect(stdout(await s.run('echo alive'))).toEqual(['alive'])
    })
  })

  test('unknown ids answer 404 with the contract body', async () => {
    for (const [method, path] of [
      ['GET', '/v1/isolated/session/nope'],
      ['DELETE', '/v1/isolated/session/nope'],
    ] as const) {
      const res = await d.fetch(path, { method })
      expect(res.status).toBe(404)
      const body = await res.json()
      expect(body.code).toBe('CONTEXT_NOT_FOUND')
      expect(body.message).toContain('nope')
    }
    const run = await postJson(d, '/v1/isolated/session/nope/run', { code: 'true' })
    expect(run.status).toBe(404)
  })

  test('bad bodies answer 400 with the contract body', async () => {
    const bad: unknown[] = [
      {},
      { workspace: {} },
      { workspace: { path: 'relative' } },
      { workspace: { path: join(tmp, 'missing') } },
      { workspace: { path: ws, mode: 'sideways' } },
      { workspace: { path: ws }, profile: 'lax' },
      { workspace: { path: ws }, uid: -1 },
      { workspace: { path: ws }, gid: 5 },
      { workspace: { path: ws }, idle_timeout_seconds: -3 },
      { workspace: { path: '/' } },
      { workspace: { path: join(ws, 'seed.txt') } },
    ]
    for (const body of bad) {
      const res = await postJson(d, '/v1/isolated/session', body)
      expect({ body, status: res.status }).toEqual({ body, status: 400 })
      const err = await res.json()
      expect(err.code).toBe('INVALID_REQUEST_BODY')
      expect(typeof err.message).toBe('string')
    }
    const s = await isolation().create({ workspace: { path: ws } })
    try {
      for (const body of [
        {},
        { code: '' },
        { code: 'true', timeout_seconds: -1 },
        { code: 'true', envs: { 'a-b': 'x' } },
      ]) {
        const res = await postJson(d, `/v1/isolated/session/${s.sessionId}/run`, body)
        expect({ body, status: res.status }).toEqual({ body, status: 400 })
      }
    } finally {
      await s.delete()
    }
  })

  test('--root confines the workspace, binds and extra_writable like every path', async () => {
    const own = await startDaemon({ args: ['--root', allowed, '--isolated-binds', tmp] })
    try {
      const res = await postJson(own, '/v1/isolated/session', { workspace: { path: ws } })
      expect(res.status).toBe(400)
      expect((await res.json()).message).toContain('outside the root')
      const bind = await postJson(own, '/v1/isolated/session', {
        workspace: { path: allowed },
        binds: [{ source: ws }],
      })
      expect(bind.status).toBe(400)
      const ok = await postJson(own, '/v1/isolated/session', { workspace: { path: allowed } })
      expect(ok.status).toBe(201)
    } finally {
      await own.stop()
    }
  })

  test('the SSE of a run is the /command stream', async () => {
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const res = await postJson(d, `/v1/isolated/session/${s.sessionId}/run`, {
        code: 'printf "a\\nb"; exit 0 2>/dev/null || true',
      })
      expect(res.headers.get('content-type')).toContain('text/event-stream')
      const types = (await readSse(res)).map(f => f.data.type)
      expect(types[0]).toBe('init')
      expect(types).toContain('stdout')
    })
  })
})

describe.skipIf(!bwrap)('execd exec --isolated', () => {
  test('runs one command in a throwaway session: exit code, output, overlay discarded', async () => {
    const r = await runCli([
      'exec',
      '--isolated',
      ws,
      '--mode',
      'overlay',
      'echo hi > cli.txt; cat cli.txt; ps -e | wc -l; exit 4',
    ])
    expect(r.code).toBe(4)
    expect(r.stdout.split('\n')[0]).toBe('hi')
    expect(Number(r.stdout.split('\n')[1])).toBeLessThan(10)
    expect(existsSync(join(ws, 'cli.txt'))).toBe(false)
    const rw = await runCli(['exec', '--isolated', ws, 'echo kept > cli.txt'])
    expect(rw.code).toBe(0)
    expect(readFileSync(join(ws, 'cli.txt'), 'utf8')).toBe('kept\n')
  })
})

describe('without bubblewrap', () => {
  let bare: Daemon
  beforeAll(async () => {
    bare = await startDaemon({ args: ['--isolated-bwrap', join(tmpdir(), 'no-such-dir', 'bwrap')] })
  })
  afterAll(async () => {
    await bare?.stop()
  })

  test('capabilities say why, and every other route answers 503 NOT_SUPPORTED', async () => {
    const caps = await sdkFor(bare).isolation!.capabilities()
    expect(caps.available).toBe(false)
    expect(caps.message).toContain('not found')
    const create = await postJson(bare, '/v1/isolated/session', { workspace: { path: tmpdir() } })
    expect(create.status).toBe(503)
    expect((await create.json()).code).toBe('NOT_SUPPORTED')
    for (const [method, path] of [
      ['GET', '/v1/isolated/sessions'],
      ['GET', '/v1/isolated/session/x'],
      ['DELETE', '/v1/isolated/session/x'],
    ] as const) {
      const res = await bare.fetch(path, { method })
      expect({ path, status: res.status }).toEqual({ path, status: 503 })
    }
  })

  test('PATH without bwrap: unavailable too', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'execd-spec-nobwrap-'))
    const noPath = await startDaemon({ env: { PATH: empty } })
    try {
      const caps = await (await noPath.fetch('/v1/isolated/capabilities')).json()
      expect(caps.available).toBe(false)
      expect(caps.message).toContain('PATH')
      const create = await postJson(noPath, '/v1/isolated/session', { workspace: { path: tmpdir() } })
      expect(create.status).toBe(503)
    } finally {
      await noPath.stop()
      rmSync(empty, { recursive: true, force: true })
    }
  })
})
