/**
 * Isolated sessions (`/v1/isolated/*`) through the official SDK's IsolationService against the
 * compiled executable and the real bubblewrap: the sessions' contract, and that the isolation
 * holds (writes, processes, network). Lifecycle and errors: isolated-lifecycle.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { isolatedDaemon, isolationOf, stdoutOf } from './kit/isolated'

const bwrap = Bun.which('bwrap')

const fx = isolatedDaemon('isolated', ({ ws }) => writeFileSync(join(ws, 'seed.txt'), 'seed\n'))
const isolation = () => isolationOf(fx.d)
const stdout = stdoutOf

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
    const s = await svc.create({ workspace: { path: fx.ws, mode: 'rw' }, profile: 'strict', idle_timeout_seconds: 600 })
    expect(s.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.info.workspace).toEqual({ path: fx.ws, mode: 'rw' })
    const first = await s.run('x=41; greet() { echo "hi $1"; }; pwd')
    expect(first.exitCode).toBe(0)
    expect(stdout(first)).toEqual([fx.ws])
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
    expect(attached.info.workspace).toEqual({ path: fx.ws, mode: 'rw' })
    const listed = await svc.list()
    expect(listed.map(x => x.session_id)).toContain(s.sessionId)

    await s.delete()
    expect((await svc.list()).map(x => x.session_id)).not.toContain(s.sessionId)
    expect(s.get()).rejects.toThrow(/404/)
  })

  test('envs and timeout_seconds of a run', async () => {
    await isolation().withSession({ workspace: { path: fx.ws } }, async s => {
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
    const e = await svc.runOnce('echo once > once.txt; cat once.txt', fx.ws)
    expect(stdout(e)).toEqual(['once'])
    expect(readFileSync(join(fx.ws, 'once.txt'), 'utf8')).toBe('once\n')
    expect((await svc.list()).length).toBe(before)
  })
})

describe.skipIf(!bwrap)('isolation holds', () => {
  test('strict: writes outside the workspace and the writable set fail; /tmp is private', async () => {
    // The test's dir is under /tmp: inside, that is the session's own tmpfs (only the
    // workspace is mounted in it), so a write there lands in the session, never on the host.
    const outside = join(fx.tmp, 'outside.txt')
    writeFileSync(join(fx.tmp, 'host-only.txt'), 'host\n')
    const e = await isolation().runOnce(
      `echo x > ${outside}; echo x > /etc/execd-probe || echo etc-refused; echo x > /usr/execd-probe || echo usr-refused; ` +
        `echo t > /tmp/t && echo tmp-ok; test -e ${join(fx.tmp, 'host-only.txt')} || echo host-tmp-hidden`,
      fx.ws,
    )
    expect(stdout(e)).toEqual(['etc-refused', 'usr-refused', 'tmp-ok', 'host-tmp-hidden'])
    expect(existsSync(outside)).toBe(false)
    expect(existsSync('/etc/execd-probe')).toBe(false)
    expect(existsSync('/tmp/t')).toBe(false)
  })

  test('extra_writable and binds (within the allowlist) are writable; others are refused', async () => {
    const svc = isolation()
    const e = await svc.runOnce(`echo b > /mnt/data/b.txt && echo bound`, fx.ws, {
      binds: [{ source: fx.allowed, dest: '/mnt/data' }],
    })
    expect(stdout(e)).toEqual(['bound'])
    expect(readFileSync(join(fx.allowed, 'b.txt'), 'utf8')).toBe('b\n')
    const ro = await svc.runOnce(`cat /mnt/data/b.txt; echo c > /mnt/data/c.txt || echo ro-refused`, fx.ws, {
      binds: [{ source: fx.allowed, dest: '/mnt/data', readonly: true }],
    })
    expect(stdout(ro)).toEqual(['b', 'ro-refused'])
    await svc.withSession({ workspace: { path: fx.ws }, extra_writable: [fx.allowed] }, async s => {
      expect(stdout(await s.run(`echo e > ${join(fx.allowed, 'e.txt')} && echo extra-ok`))).toEqual(['extra-ok'])
      const listed = (await svc.list()).find(x => x.session_id === s.sessionId)
      expect(listed?.status).toBe('active')
      expect(listed?.idle_remaining_seconds).toBeGreaterThan(0)
    })
    expect(readFileSync(join(fx.allowed, 'e.txt'), 'utf8')).toBe('e\n')

    const res = await postJson(fx.d, '/v1/isolated/session', {
      workspace: { path: fx.ws },
      binds: [{ source: '/etc' }],
    })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toContain('allowlist')
    const res2 = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: fx.ws }, extra_writable: [fx.tmp] })
    expect(res2.status).toBe(400)
  })

  test('ps shows only the processes of the session', async () => {
    const e = await isolation().runOnce('ps -eo pid=,comm=', fx.ws)
    const pids = stdout(e).map(l => Number(l.trim().split(/\s+/)[0]))
    expect(Math.max(...pids)).toBeLessThan(20)
    expect(stdout(e).join('\n')).not.toContain('execd')
  })

  test('no network without share_net: a loopback listener of the host is unreachable', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('reached') })
    try {
      const probe = `exec 3<>/dev/tcp/127.0.0.1/${server.port} && echo connected || echo refused`
      const closed = await isolation().runOnce(probe, fx.ws)
      expect(stdout(closed)).toEqual(['refused'])
      const open = await isolation().runOnce(probe, fx.ws, { shareNet: true })
      expect(stdout(open)).toEqual(['connected'])
    } finally {
      server.stop(true)
    }
  })

  test('ro: the workspace is readable, writes are refused', async () => {
    const e = await isolation().runOnce('cat seed.txt; echo x > new.txt; echo "rc=$?"', fx.ws, { workspaceMode: 'ro' })
    expect(stdout(e)).toEqual(['seed', 'rc=1'])
    expect(e.logs.stderr.map(l => l.text).join('\n')).toContain('Read-only file system')
    expect(existsSync(join(fx.ws, 'new.txt'))).toBe(false)
  })

  test('balanced: the rest of the filesystem is readable but not writable; strict does not see it', async () => {
    const probe = 'test -d /var && echo var-visible; echo y > /var/execd-probe || echo var-refused'
    const balanced = await isolation().runOnce(probe, fx.ws, { profile: 'balanced' })
    expect(stdout(balanced)).toEqual(['var-visible', 'var-refused'])
    const strict = await isolation().runOnce('test -d /var && echo var-visible || echo var-hidden', fx.ws)
    expect(stdout(strict)).toEqual(['var-hidden'])
    expect(existsSync('/var/execd-probe')).toBe(false)
  })

  test('uid 65534 owns the files it creates', async () => {
    const shared = join(fx.tmp, 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o777)
    await isolation().withSession({ workspace: { path: shared }, uid: 65534, gid: 65534 }, async s => {
      expect(stdout(await s.run('id -u; id -g; touch mine'))).toEqual(['65534', '65534'])
    })
    const st = statSync(join(shared, 'mine'))
    expect([st.uid, st.gid]).toEqual([65534, 65534])
  })
  test("no setuid or setgid bit can be given from inside: the shell is uid 0, the workspace the host's", async () => {
    // Planted, a setuid-root program in the host's directory gave any unprivileged process of the
    // host euid 0 (`setpriv --reuid 1000 ./s` printed euid=0(root)).
    const e = await isolation().runOnce(
      'cp /usr/bin/id s; chmod 4755 s || echo suid-refused; chmod 2755 s || echo sgid-refused; ' +
        'chmod 1755 s && echo sticky-ok; install -m 4755 /usr/bin/id t 2>/dev/null || echo install-refused; ' +
        'mknod u p && echo fifo-ok; ' +
        'python3 -c "import os; os.open(\'v\', os.O_CREAT | os.O_WRONLY, 0o4755)" 2>/dev/null || echo open-refused',
      fx.ws,
    )
    expect(stdout(e)).toEqual([
      'suid-refused',
      'sgid-refused',
      'sticky-ok',
      'install-refused',
      'fifo-ok',
      'open-refused',
    ])
    for (const name of ['s', 't', 'u', 'v']) {
      const st = statSync(join(fx.ws, name), { throwIfNoEntry: false })
      if (st) expect((st.mode & 0o6000).toString(8)).toBe('0')
    }
    expect(statSync(join(fx.ws, 's')).mode & 0o7777).toBe(0o1755)
    for (const name of ['s', 't', 'u', 'v']) rmSync(join(fx.ws, name), { force: true })
  })

  test('uid 65534 (both uid modes) can make temp files: its private /tmp is 1777, as on any system', async () => {
    for (const uid_mode of ['setpriv', 'userns'] as const) {
      await isolation().withSession({ workspace: { path: fx.ws }, uid: 65534, uid_mode }, async s => {
        // bwrap's tmpfs was 0755 and root's: mktemp (pip, compilers, any temp file) was refused.
        const e = await s.run('stat -c %a /tmp; f=$(mktemp -p /tmp) && echo made && rm "$f"')
        expect(stdout(e)).toEqual(['1777', 'made'])
      })
    }
  })

  test('uid_mode userns: the shell is uid 65534 in its own user namespace', async () => {
    const caps = await isolation().capabilities()
    if (!caps.userns_available) throw new Error(`no user namespaces here: ${caps.message}`)
    await isolation().withSession(
      { workspace: { path: fx.ws }, uid: 65534, gid: 65534, uid_mode: 'userns' },
      async s => {
        expect(stdout(await s.run('id -u; id -g'))).toEqual(['65534', '65534'])
        expect((await s.get()).uid_mode).toBe('userns')
      },
    )
  })

  test('env_passthrough: allow and deny lists of the environment', async () => {
    const allow = await isolation().withSession(
      { workspace: { path: fx.ws }, env_passthrough: { mode: 'allow', keys: ['PATH'] } },
      async s => stdout(await s.run('echo "path=${PATH:+set} home=${HOME:-unset}"')),
    )
    expect(allow).toEqual(['path=set home=unset'])
    const deny = await isolation().withSession(
      { workspace: { path: fx.ws }, env_passthrough: { mode: 'deny', keys: ['HOME'] } },
      async s => stdout(await s.run('echo "path=${PATH:+set} home=${HOME:-unset}"')),
    )
    expect(deny).toEqual(['path=set home=unset'])
  })

  // Before: bash's built-in default, /usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:.
  test("a session kept from execd's PATH gets a default without '.' (deny PATH, or an allow list without it)", async () => {
    const safe = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    for (const env_passthrough of [
      { mode: 'deny' as const, keys: ['PATH'] },
      { mode: 'allow' as const, keys: ['HOME'] },
    ]) {
      const path = await isolation().withSession({ workspace: { path: fx.ws }, env_passthrough }, async s =>
        stdout(await s.run('echo "$PATH"; type -P ls')),
      )
      expect(path[0]).toBe(safe)
      expect(path[1]).toMatch(/^\/(usr\/)?bin\/ls$/)
    }
  })

  // Before: absent until the first run, where the SDK's generated schema requires it.
  test('last_run_at is in the state and the list from the start: created_at until the first run', async () => {
    await isolation().withSession({ workspace: { path: fx.ws } }, async s => {
      const state = (await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}`)).json()) as Record<string, string>
      expect(state.last_run_at).toBe(state.created_at)
      const list = (await (await fx.d.fetch('/v1/isolated/sessions')).json()) as {
        sessions: Record<string, string>[]
      }
      const mine = list.sessions.find(x => x.session_id === s.sessionId)
      expect(mine?.last_run_at).toBe(state.created_at)
      await s.run('true')
      const after = (await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}`)).json()) as Record<string, string>
      expect(Date.parse(after.last_run_at ?? '')).toBeGreaterThanOrEqual(Date.parse(state.created_at ?? ''))
    })
  })
})
