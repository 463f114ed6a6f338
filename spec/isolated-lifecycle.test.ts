/**
 * Isolated sessions' lifecycle and errors (idle expiry, delete and shutdown kill everything,
 * limits, bad input, interrupt, --root), `execd exec --isolated`, and a machine without
 * bubblewrap — against the compiled executable and the real bubblewrap.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, runCli, startDaemon, waitFor, type Daemon } from './harness'
import { isolatedDaemon, isolationOf, stdoutOf } from './kit/isolated'
import { sdkFor } from './sdk'

const bwrap = Bun.which('bwrap')

const fx = isolatedDaemon('isolated', ({ ws }) => writeFileSync(join(ws, 'seed.txt'), 'seed\n'))
const isolation = () => isolationOf(fx.d)
const stdout = stdoutOf

describe.skipIf(!bwrap)('lifecycle and errors', () => {
  test('idle timeout destroys the session and its processes', async () => {
    const svc = isolation()
    const s = await svc.create({ workspace: { path: fx.ws }, idle_timeout_seconds: 1 })
    const marker = `idle-${crypto.randomUUID().slice(0, 8)}`
    await s.run(`(exec -a ${marker} sleep 300) & disown; echo started`)
    await waitFor('the idle session sleeper', () => pidsWith(marker).length === 1)
    await waitFor('the idle session to go', async () => !(await svc.list()).some(x => x.session_id === s.sessionId))
    await waitFor('its processes to go', () => pidsWith(marker).length === 0)
    const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}`)
    expect(res.status).toBe(404)
  })

  test('delete kills everything the session started, even what left its process group', async () => {
    const s = await isolation().create({ workspace: { path: fx.ws } })
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
    const s = await svc.create({ workspace: { path: fx.ws, mode: 'overlay' } })
    await s.run(`(exec -a ${marker} sleep 300) & echo x > in-overlay.txt`)
    const dirs = () => readdirSync(tmpdir()).filter(n => n.startsWith(`execd-isolated-${own.proc.pid}-`))
    expect(dirs().length).toBe(1)
    // The background sleep is started, not necessarily exec'd, when the run ends.
    await waitFor('the session sleeper', () => pidsWith(marker).length === 1)
    expect(await own.stop()).toBe(0)
    expect(pidsWith(marker)).toEqual([])
    expect(dirs()).toEqual([])
    expect(existsSync(join(fx.ws, 'in-overlay.txt'))).toBe(false)
  })

  test('--max-isolated-sessions: one more is refused with 503 naming the limit', async () => {
    const own = await startDaemon({ args: ['--max-isolated-sessions', '1'] })
    try {
      const svc = sdkFor(own).isolation!
      const s = await svc.create({ workspace: { path: fx.ws } })
      const res = await postJson(own, '/v1/isolated/session', { workspace: { path: fx.ws } })
      expect(res.status).toBe(503)
      expect((await res.json()).message).toContain('max-isolated-sessions')
      await s.delete()
      const again = await postJson(own, '/v1/isolated/session', { workspace: { path: fx.ws } })
      expect(again.status).toBe(201)
    } finally {
      await own.stop()
    }
  })

  test('DELETE /command?id=<session> interrupts its run and keeps the session', async () => {
    await isolation().withSession({ workspace: { path: fx.ws } }, async s => {
      // A duration no other process on the machine sleeps: the marker of this run's sleep.
      const nap = `sleep 30.${Date.now() % 100000}`
      const running = s.run(`echo go; ${nap}; echo never`)
      await waitFor('the sleep to run', () => pidsWith(nap).length > 0)
      const res = await fx.d.fetch(`/command?id=${s.sessionId}`, { method: 'DELETE' })
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
      const res = await fx.d.fetch(path, { method })
      expect(res.status).toBe(404)
      const body = await res.json()
      expect(body.code).toBe('CONTEXT_NOT_FOUND')
      expect(body.message).toContain('nope')
    }
    const run = await postJson(fx.d, '/v1/isolated/session/nope/run', { code: 'true' })
    expect(run.status).toBe(404)
  })

  test('bad bodies answer 400 with the contract body', async () => {
    const bad: unknown[] = [
      {},
      { workspace: {} },
      { workspace: { path: 'relative' } },
      { workspace: { path: join(fx.tmp, 'missing') } },
      { workspace: { path: fx.ws, mode: 'sideways' } },
      { workspace: { path: fx.ws }, profile: 'lax' },
      { workspace: { path: fx.ws }, uid: -1 },
      // (uid_t)-1 is setresuid's "leave it as it is": the shell ran as root.
      { workspace: { path: fx.ws }, uid: 4294967295 },
      { workspace: { path: fx.ws }, uid: 65534, gid: 4294967295 },
      { workspace: { path: fx.ws }, uid: '4294967295' },
      { workspace: { path: fx.ws }, gid: 5 },
      { workspace: { path: fx.ws }, idle_timeout_seconds: -3 },
      { workspace: { path: '/' } },
      { workspace: { path: join(fx.ws, 'seed.txt') } },
    ]
    for (const body of bad) {
      const res = await postJson(fx.d, '/v1/isolated/session', body)
      expect({ body, status: res.status }).toEqual({ body, status: 400 })
      const err = await res.json()
      expect(err.code).toBe('INVALID_REQUEST_BODY')
      expect(typeof err.message).toBe('string')
    }
    const s = await isolation().create({ workspace: { path: fx.ws } })
    try {
      for (const body of [
        {},
        { code: '' },
        { code: 'true', timeout_seconds: -1 },
        { code: 'true', envs: { 'a-b': 'x' } },
      ]) {
        const res = await postJson(fx.d, `/v1/isolated/session/${s.sessionId}/run`, body)
        expect({ body, status: res.status }).toEqual({ body, status: 400 })
      }
    } finally {
      await s.delete()
    }
  })

  test('--root confines the workspace, binds and extra_writable like every path', async () => {
    const own = await startDaemon({ args: ['--root', fx.allowed, '--isolated-binds', fx.tmp] })
    try {
      const res = await postJson(own, '/v1/isolated/session', { workspace: { path: fx.ws } })
      expect(res.status).toBe(400)
      expect((await res.json()).message).toContain('outside the root')
      const bind = await postJson(own, '/v1/isolated/session', {
        workspace: { path: fx.allowed },
        binds: [{ source: fx.ws }],
      })
      expect(bind.status).toBe(400)
      const ok = await postJson(own, '/v1/isolated/session', { workspace: { path: fx.allowed } })
      expect(ok.status).toBe(201)
    } finally {
      await own.stop()
    }
  })

  test('the SSE of a run is the /command stream', async () => {
    await isolation().withSession({ workspace: { path: fx.ws } }, async s => {
      const res = await postJson(fx.d, `/v1/isolated/session/${s.sessionId}/run`, {
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
      fx.ws,
      '--mode',
      'overlay',
      'echo hi > cli.txt; cat cli.txt; ps -e | wc -l; exit 4',
    ])
    expect(r.code).toBe(4)
    expect(r.stdout.split('\n')[0]).toBe('hi')
    expect(Number(r.stdout.split('\n')[1])).toBeLessThan(10)
    expect(existsSync(join(fx.ws, 'cli.txt'))).toBe(false)
    const rw = await runCli(['exec', '--isolated', fx.ws, 'echo kept > cli.txt'])
    expect(rw.code).toBe(0)
    expect(readFileSync(join(fx.ws, 'cli.txt'), 'utf8')).toBe('kept\n')
  })

  test('with --url it runs on the daemon, and the session is gone after it', async () => {
    const env = { EXECD_ACCESS_TOKEN: fx.d.token }
    const r = await runCli(
      ['exec', '--url', fx.d.url, '--isolated', fx.ws, 'echo here > remote.txt; echo out; exit 3'],
      {
        env,
      },
    )
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('out\n')
    expect(readFileSync(join(fx.ws, 'remote.txt'), 'utf8')).toBe('here\n')
    const list = await (await fx.d.fetch('/v1/isolated/sessions')).json()
    expect(list.sessions).toEqual([])
    const bad = await runCli(['exec', '--url', fx.d.url, '--isolated', join(fx.ws, 'no-such-dir'), 'true'], { env })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringContaining('no-such-dir')])
    const denied = await runCli(['exec', '--url', fx.d.url, '--isolated', fx.ws, 'echo no > denied.txt'])
    expect(denied.stderr).toContain('X-EXECD-ACCESS-TOKEN')
    expect(existsSync(join(fx.ws, 'denied.txt'))).toBe(false)
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

  test.skipIf(!bwrap)(
    'a bubblewrap that cannot apply the seccomp filter: unavailable, said why, not a 500 per session',
    async () => {
      // As a kernel without seccomp filters answers bwrap: the sessions' filter cannot be had.
      const dir = mkdtempSync(join(tmpdir(), 'execd-spec-noseccomp-'))
      const wrapper = join(dir, 'bwrap')
      writeFileSync(
        wrapper,
        `#!/bin/sh\nfor a; do [ "$a" = --seccomp ] && { echo 'bwrap: seccomp not supported' >&2; exit 1; }; done\nexec ${bwrap} "$@"\n`,
        { mode: 0o755 },
      )
      const d = await startDaemon({ args: ['--isolated-bwrap', wrapper] })
      try {
        const caps = await (await d.fetch('/v1/isolated/capabilities')).json()
        expect(caps.available).toBe(false)
        expect(caps.message).toContain('seccomp not supported')
        const create = await postJson(d, '/v1/isolated/session', { workspace: { path: tmpdir() } })
        expect(create.status).toBe(503)
        expect((await create.json()).code).toBe('NOT_SUPPORTED')
      } finally {
        await d.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

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
