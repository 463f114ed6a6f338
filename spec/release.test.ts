/**
 * Release gates. With EXECD_RELEASE_DIR (as `make release-check` runs it) the release
 * executables there; without, `dist/execd` (the same x64 build, as `make spec` runs it):
 *   - the glibc executables need no glibc symbol version above 2.17 (objdump -T);
 *   - the x64 executable passes the smoke suite in a bare rootfs (itself, its libraries,
 *     /proc, /dev nodes, devpts, bash, python3) as PID 1 of private namespaces;
 *   - the arm64 executable passes it under qemu-user, binfmt_misc registered in a private
 *     user namespace so its own javascript child runs too;
 *   - the musl executables ask for musl's loader and libstdc++ (readelf): not run here, as no
 *     Debian package provides a musl libstdc++;
 *   - the Kubernetes recipe: an init step copies execd into an empty volume, the main
 *     container starts `execd serve -- <command>`, `execd ping` is the readiness probe.
 * Root (unshare, chroot, mknod) for the rootfs parts; skipped visibly otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from './harness'
import { buildRootfs, canBuildRootfs, canEmulateArm64, childOf, inRootfs, serveInRootfs } from './release-rootfs'
import type { Rootfs, Served } from './release-rootfs'
import { smokeSuite } from './release-smoke'

const RELEASE = process.env.EXECD_RELEASE_DIR
const exe = (name: string) => (RELEASE ? join(RELEASE, `execd-${name}`) : name === 'linux-x64' ? BIN : '')
const present = (name: string) => !!exe(name) && existsSync(exe(name))
const QEMU = '/usr/bin/qemu-aarch64-static'
const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'
const hasTool = (tool: string) => !!Bun.which(tool)

/** The highest GLIBC_x.y symbol version an executable needs. */
function highestGlibc(file: string): string {
  const out = Bun.spawnSync(['objdump', '-T', file]).stdout.toString()
  const versions = [...out.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map(
    m => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] as const,
  )
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  const top = versions[versions.length - 1]
  return top ? top.filter((n, i) => i < 2 || n > 0).join('.') : 'none'
}

const older = (a: string, b: string) => {
  const [x0 = 0, x1 = 0] = a.split('.').map(Number)
  const [y0 = 0, y1 = 0] = b.split('.').map(Number)
  return x0 < y0 || (x0 === y0 && x1 <= y1)
}

describe('glibc executables need glibc 2.17 at most (objdump -T)', () => {
  for (const name of ['linux-x64', 'linux-arm64']) {
    test.skipIf(!present(name) || !hasTool('objdump'))(`execd-${name}`, () => {
      const top = highestGlibc(exe(name))
      expect(top).not.toBe('none')
      expect(older(top, '2.17')).toBe(true)
    })
  }
})

describe('musl executables: their loader and libraries (readelf; not run here)', () => {
  for (const [name, loader] of [
    ['linux-x64-musl', '/lib/ld-musl-x86_64.so.1'],
    ['linux-arm64-musl', '/lib/ld-musl-aarch64.so.1'],
  ] as const) {
    test.skipIf(!present(name) || !hasTool('readelf'))(`execd-${name} asks for ${loader} and libstdc++`, () => {
      const headers = Bun.spawnSync(['readelf', '-l', '-d', exe(name)]).stdout.toString()
      expect(headers).toContain(`[Requesting program interpreter: ${loader}]`)
      const needed = [...headers.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].flatMap(m =>
        m[1] ? [m[1]] : [],
      )
      expect(needed).toContain('libstdc++.so.6')
      // libstdc++ brings libgcc_s; nothing glibc-only may be named.
      expect(needed.filter(n => /^lib(pthread|dl|m|rt)\.so/.test(n) || n === 'libc.so.6')).toEqual([])
    })
  }
})

/** A bare rootfs around `executable` served for a suite; removed after it. */
function rootfsSuite(title: string, make: () => Rootfs, skip: string | false, smoke: Parameters<typeof smokeSuite>[1]) {
  describe.skipIf(!!skip)(`${title}${skip ? ` (not run: ${skip})` : ''}`, () => {
    let fs: Rootfs | undefined
    let s: Served | undefined
    beforeAll(async () => {
      fs = make()
      s = await serveInRootfs(fs, { readyMs: 120_000 })
    }, 180_000)
    afterAll(async () => {
      await s?.stop()
      fs?.remove()
    })
    smokeSuite(() => s!, smoke)
  })
}

const rootSkip = !canBuildRootfs && 'needs root, unshare and chroot'

// `make release-check` is a gate: there, what cannot run fails rather than skips.
test.skipIf(!RELEASE)('the release gates can run here (root, unshare, qemu-user, binutils)', () => {
  expect({ root: canBuildRootfs, qemu: canEmulateArm64(QEMU), objdump: hasTool('objdump') }).toEqual({
    root: true,
    qemu: true,
    objdump: true,
  })
})

rootfsSuite(
  'execd-linux-x64 in a bare rootfs, as PID 1 of private namespaces',
  () => buildRootfs({ exe: exe('linux-x64'), bash: true, devpts: true, python: PYTHON }),
  rootSkip || (!present('linux-x64') && 'no x64 executable'),
  {},
)

// A Debian minbase rootfs (`debootstrap --variant=minbase bookworm DIR`: network to a Debian
// mirror and minutes, so only when given one), under an overlay that leaves it untouched.
const MINBASE = process.env.EXECD_MINBASE
rootfsSuite(
  `execd-linux-x64 in a Debian minbase rootfs (${MINBASE ?? 'EXECD_MINBASE unset'})`,
  () => buildRootfs({ exe: exe('linux-x64'), lower: MINBASE, devpts: true }),
  rootSkip ||
    (!present('linux-x64') && 'no x64 executable') ||
    (!(MINBASE && existsSync(join(MINBASE, 'bin/bash'))) &&
      'set EXECD_MINBASE to a debootstrap --variant=minbase root'),
  // The host's python3 needs the host's glibc, which an older Debian root does not have.
  { skip: { python: 'a minbase root has no python3' } },
)

rootfsSuite(
  'execd-linux-arm64 under qemu-user, in a bare rootfs (binfmt_misc in a private user namespace)',
  () => buildRootfs({ exe: exe('linux-arm64'), qemu: QEMU, bash: true, devpts: true, python: PYTHON }),
  rootSkip ||
    (!present('linux-arm64') && 'no arm64 executable: run make release') ||
    (!canEmulateArm64(QEMU) && 'needs qemu-user-static, libc6-arm64-cross and binfmt_misc in a user namespace'),
  // Python and bash are the host's x64 ones (native, beside the emulated execd).
  { limitMs: 120_000 },
)

describe.skipIf(!!rootSkip || !present('linux-x64'))('the Kubernetes recipe, in a bare rootfs', () => {
  test('copy execd into an empty volume, start it with -- <command>, probe it with execd ping', async () => {
    // The image holds only the executable (the Dockerfile's); the "app" image has bash.
    const fs = buildRootfs({
      exe: exe('linux-x64'),
      at: '/image/execd',
      bash: true,
      files: { '/usr/bin/sleep': '/bin/sleep' },
    })
    try {
      // The init container's step (deploy/kubernetes/execd.yaml): execd copies itself into the emptyDir.
      const init = Bun.spawnSync(
        inRootfs(fs, ['/image/execd', 'fs', 'put', '/image/execd', '/opt/execd/execd', '--mode', '755']),
        // HOME as container runtimes set it (`/` by default): `execd fs` fails without one (uv_os_homedir).
        { env: { PATH: '/bin', HOME: '/' } },
      )
      expect({ code: init.exitCode, stderr: init.stderr.toString() }).toEqual({ code: 0, stderr: '' })
      const s = await serveInRootfs(
        { ...fs, opts: { ...fs.opts, at: '/opt/execd/execd' } },
        { main: ['bash', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done'] },
      )
      try {
        // The readiness probe: `execd ping` run in the container with the token from the Secret.
        const inner = childOf(s.proc.pid)!
        const probe = (token: string) =>
          Bun.spawnSync(
            [
              'nsenter',
              '-t',
              String(inner),
              '-m',
              '-p',
              '-r',
              '-w',
              '/opt/execd/execd',
              'ping',
              '--url',
              `${s.url}/ping`,
            ],
            { env: { PATH: '/bin', EXECD_ACCESS_TOKEN: token } },
          ).exitCode
        expect(probe(s.token)).toBe(0)
        expect(probe('wrong')).toBe(1)
      } finally {
        expect(await s.stop()).toBe(0)
      }
    } finally {
      fs.remove()
    }
  }, 60_000)
})
