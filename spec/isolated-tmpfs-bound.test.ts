/**
 * What memory a session can fill. A tmpfs's pages belong to no process: a session that filled
 * its /tmp, /dev/shm or (strict, uid 0) its root, each up to half the RAM, ran the machine out
 * of memory, and the OOM killer chose among execd and its children. Each is bounded now, or
 * read-only where nothing needs it writable; a write past the bound is ENOSPC in the session,
 * whether the session is a daemon's or `exec --isolated`'s.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const MiB = 1024 * 1024
const ws = (tmp: string) => {
  const p = join(tmp, `ws-${crypto.randomUUID()}`)
  mkdirSync(p)
  return p
}

/** Bytes each memory filesystem of the session holds at most, as `df` reports them. */
const SIZES = 'for d in /tmp /dev/shm; do echo "$d $(df -B1 --output=size $d | tail -1 | tr -d " ")"; done'

describe.skipIf(!Bun.which('bwrap'))('by default', () => {
  const fx = daemonWithDir('isolated-tmpfs-default')

  for (const profile of ['strict', 'balanced'] as const) {
    test(`${profile}: /tmp and /dev/shm hold 256 MiB each, / and /dev are read-only`, async () => {
      await isolationOf(fx.d).withSession({ profile, workspace: { path: ws(fx.tmp) } }, async s => {
        const sizes = stdoutOf(await s.run(SIZES))
        expect(sizes).toEqual([`/tmp ${256 * MiB}`, `/dev/shm ${256 * MiB}`])
        const writes = await s.run(
          'for f in /x /dev/x; do touch $f 2>/dev/null && echo "$f written" || echo "$f refused"; done; echo ok > /dev/null && echo null-ok',
        )
        expect(stdoutOf(writes)).toEqual(['/x refused', '/dev/x refused', 'null-ok'])
      })
    })
  }
})

describe.skipIf(!Bun.which('bwrap'))('--isolated-tmpfs-size', () => {
  const fx = daemonWithDir('isolated-tmpfs-size', () => ['--isolated-tmpfs-size', String(MiB)])

  test('a write past it fails in the session with ENOSPC; the session and execd go on', async () => {
    await isolationOf(fx.d).withSession({ workspace: { path: ws(fx.tmp) } }, async s => {
      for (const dir of ['/tmp', '/dev/shm']) {
        const full = await s.run(`head -c ${2 * MiB} /dev/zero 2>&1 > ${dir}/big; stat -c %s ${dir}/big`)
        expect(stdoutOf(full).join('\n')).toContain('No space left on device')
        expect(Number(stdoutOf(full).at(-1))).toBeLessThanOrEqual(MiB)
      }
      expect(stdoutOf(await s.run('rm /tmp/big; echo again > /tmp/f && cat /tmp/f'))).toEqual(['again'])
    })
    expect((await fx.d.fetch('/ping')).status).toBe(200)
  })
})

describe.skipIf(!Bun.which('bwrap'))('exec --isolated', () => {
  // exec opened the isolated section with the environment's settings only: the flag was refused
  // ("it is serve's"), though `exec --shell` and the code runtimes take their sections' flags.
  const fx = daemonWithDir('isolated-tmpfs-exec', () => null)

  test('--isolated-tmpfs-size bounds its session, over EXECD_ISOLATED_TMPFS_BYTES', async () => {
    const env = { EXECD_ISOLATED_TMPFS_BYTES: String(2 * MiB) }
    const flag = await runCli(['exec', '--isolated', ws(fx.tmp), '--isolated-tmpfs-size', String(MiB), SIZES], { env })
    expect(flag.stderr).toBe('')
    expect(flag.stdout.trim().split('\n')).toEqual([`/tmp ${MiB}`, `/dev/shm ${MiB}`])
    const fromEnv = await runCli(['exec', '--isolated', ws(fx.tmp), SIZES], { env })
    expect(fromEnv.stdout.trim().split('\n')).toEqual([`/tmp ${2 * MiB}`, `/dev/shm ${2 * MiB}`])
  })

  test("a daemon's limits on many sessions stay serve's", async () => {
    const r = await runCli(['exec', '--isolated', ws(fx.tmp), '--isolated-idle', '5', 'true'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("unknown option '--isolated-idle': it is serve's")
  })
})
