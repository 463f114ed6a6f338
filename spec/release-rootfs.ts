/**
 * A bare root filesystem built by the test itself, for the release gates: the executable, the
 * shared libraries it loads, `/proc`, a few `/dev` nodes — and, when asked, bash (for the
 * shell parts), devpts (terminals) and python3 (the python language). execd runs in it as
 * PID 1 of private mount and PID namespaces (`unshare`, then `chroot`), sharing the host's
 * network so the test reaches it on 127.0.0.1. Needs root.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort, waitFor } from './harness'
import { eachText } from './kit/each-text'

const CHROOT = Bun.which('chroot', { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }) ?? 'chroot'

export const canBuildRootfs =
  process.getuid?.() === 0 &&
  Bun.spawnSync(['unshare', '--mount', '--pid', '--fork', 'true'], { stdout: 'ignore', stderr: 'ignore' }).exitCode ===
    0

export interface RootfsOptions {
  /** The executable to serve, copied to `/execd` (or elsewhere with `at`). */
  exe: string
  at?: string
  bash?: boolean
  /** /dev/null, /dev/zero, /dev/urandom, /dev/random, /dev/tty (default: on). */
  devNodes?: boolean
  /** A devpts instance and /dev/ptmx, mounted at start. */
  devpts?: boolean
  /** The host's python3 and its standard library (bound read-only at start, not copied). */
  python?: string
  /** Run the executable with this prefix, resolved inside the rootfs (e.g. a qemu-user binary). */
  prefix?: string[]
  /** Extra host files to copy, with their libraries: host path → path inside. */
  files?: Record<string, string>
  /**
   * An aarch64 executable: its libraries come from Debian's libc6-arm64-cross, and it runs
   * through this qemu-user binary, registered with binfmt_misc inside a private user namespace
   * (flag F: the kernel opens qemu at registration, so the chroot needs no copy), so that the
   * executable's own children (the javascript runtime re-executes it) run emulated too.
   */
  qemu?: string
  /**
   * A root filesystem to start from (a Debian minbase made by debootstrap), left untouched: an
   * overlay mounted at start puts what this adds on top. Its own libraries are not replaced.
   */
  lower?: string
}

/** Where libc6-arm64-cross installs the aarch64 glibc. */
export const ARM64_LIBS = '/usr/aarch64-linux-gnu/lib'

/** binfmt_misc's entry for aarch64 ELF executables (as Debian's qemu-user-binfmt registers it). */
const AARCH64_BINFMT = (qemu: string) =>
  ':qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:' +
  '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:' +
  `${qemu}:FOC`

export const canEmulateArm64 = (qemu: string): boolean =>
  canBuildRootfs &&
  existsSync(qemu) &&
  existsSync(`${ARM64_LIBS}/ld-linux-aarch64.so.1`) &&
  Bun.spawnSync(
    [
      'unshare',
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc',
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  ).exitCode === 0

/** The aarch64 libraries an executable names (readelf: the host's ldd cannot load it), copied. */
function copyArm64Libraries(dir: string, exe: string): void {
  const dynamic = Bun.spawnSync(['readelf', '-d', exe]).stdout.toString()
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].flatMap(m => (m[1] ? [m[1]] : []))
  mkdirSync(join(dir, 'lib/aarch64-linux-gnu'), { recursive: true })
  for (const name of new Set([...needed, 'ld-linux-aarch64.so.1'])) {
    copyFileSync(join(ARM64_LIBS, name), join(dir, 'lib/aarch64-linux-gnu', name))
  }
  // The program interpreter the executable asks for.
  copyFileSync(join(ARM64_LIBS, 'ld-linux-aarch64.so.1'), join(dir, 'lib/ld-linux-aarch64.so.1'))
  chmodSync(join(dir, 'lib/ld-linux-aarch64.so.1'), 0o755)
}

export interface Rootfs {
  /** Where the files go (the overlay's upper directory over `lower`). */
  dir: string
  /** What is chroot'ed into: `dir`, or the overlay mounted at start. */
  root: string
  opts: RootfsOptions
  /** Host directories bound read-only into the rootfs at start (the python standard library). */
  binds: [host: string, inside: string][]
  remove(): void
}

/** The libraries `ldd` names for `file` (absolute paths, symlinks followed when copied). */
function librariesOf(file: string): string[] {
  const out = Bun.spawnSync(['ldd', file]).stdout.toString()
  return [...out.matchAll(/(\/[^\s)]+)/g)].flatMap(m => (m[1] && m[1] !== file && existsSync(m[1]) ? [m[1]] : []))
}

/**
 * `path` with the directory symlinks of `lower` followed (merged /usr: /lib → usr/lib): a real
 * directory put in the overlay's upper layer would hide the lower layer's symlink.
 */
export function resolveInside(lower: string | undefined, path: string, depth = 0): string {
  if (!lower || depth > 8) return path
  const parts = path.split('/').filter(Boolean)
  let out = ''
  for (let i = 0; i < parts.length; i++) {
    const next = `${out}/${parts[i]}`
    let link: string | undefined
    try {
      if (i < parts.length - 1 && lstatSync(join(lower, next)).isSymbolicLink()) link = readlinkSync(join(lower, next))
    } catch {}
    out =
      link === undefined ? next : resolveInside(lower, link.startsWith('/') ? link : join(out || '/', link), depth + 1)
  }
  return out || '/'
}

const lexists = (path: string): boolean => {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

function copyWithLibraries(dir: string, host: string, inside: string, lower?: string): void {
  const place = (p: string) => join(dir, resolveInside(lower, p))
  mkdirSync(dirname(place(inside)), { recursive: true })
  copyFileSync(host, place(inside))
  chmodSync(place(inside), 0o755)
  for (const lib of librariesOf(host)) {
    // lstat, not exists: the lower root's absolute symlinks point into it, not into the host.
    if (existsSync(place(lib)) || (lower && lexists(join(lower, resolveInside(lower, lib))))) continue
    mkdirSync(dirname(place(lib)), { recursive: true })
    copyFileSync(lib, place(lib))
  }
}

export function buildRootfs(opts: RootfsOptions): Rootfs {
  const top = mkdtempSync(join(tmpdir(), 'execd-rootfs-'))
  const dir = opts.lower ? join(top, 'upper') : top
  const root = opts.lower ? join(top, 'merged') : top
  if (opts.lower) for (const d of ['upper', 'work', 'merged']) mkdirSync(join(top, d))
  for (const d of ['proc', 'dev', 'dev/pts', 'tmp', 'bin', 'usr/bin'])
    mkdirSync(join(dir, resolveInside(opts.lower, `/${d}/x`).slice(0, -2)), { recursive: true })
  chmodSync(join(dir, 'tmp'), 0o1777)
  if (opts.qemu) {
    mkdirSync(join(dir, dirname(opts.at ?? '/execd')), { recursive: true })
    copyFileSync(opts.exe, join(dir, opts.at ?? '/execd'))
    chmodSync(join(dir, opts.at ?? '/execd'), 0o755)
    copyArm64Libraries(dir, opts.exe)
  } else copyWithLibraries(dir, opts.exe, opts.at ?? '/execd', opts.lower)
  if (opts.bash) copyWithLibraries(dir, '/usr/bin/bash', '/bin/bash', opts.lower)
  for (const [host, inside] of Object.entries(opts.files ?? {})) copyWithLibraries(dir, host, inside, opts.lower)
  if (opts.devNodes !== false) {
    const nodes: [string, number, number][] = [
      ['null', 1, 3],
      ['zero', 1, 5],
      ['random', 1, 8],
      ['urandom', 1, 9],
      ['tty', 5, 0],
    ]
    for (const [name, major, minor] of nodes) {
      const made = Bun.spawnSync(['mknod', '-m', '666', join(dir, 'dev', name), 'c', String(major), String(minor)])
      if (made.exitCode !== 0) throw new Error(`mknod /dev/${name}: ${made.stderr}`)
    }
  }
  if (opts.devpts) symlinkSync('pts/ptmx', join(dir, 'dev/ptmx'))
  const binds: [string, string][] = []
  if (opts.python) {
    const version = Bun.spawnSync([
      opts.python,
      '-c',
      'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")',
    ])
      .stdout.toString()
      .trim()
    const real = Bun.spawnSync([opts.python, '-c', 'import sys; print(sys.executable)']).stdout.toString().trim()
    const stdlib = Bun.spawnSync([opts.python, '-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'])
      .stdout.toString()
      .trim()
    copyWithLibraries(dir, real, '/usr/bin/python3', opts.lower)
    // The standard library where the interpreter looks for it, relative to its prefix.
    const inside = `/usr/lib/python${version}`
    mkdirSync(join(dir, inside), { recursive: true })
    binds.push([stdlib, inside])
  }
  return { dir, root, opts, binds, remove: () => rmSync(top, { recursive: true, force: true }) }
}

export interface Served {
  url: string
  token: string
  proc: ReturnType<typeof Bun.spawn>
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** Everything it wrote to stderr so far. */
  logs(): string
  stop(): Promise<number>
}

/** The shell lines that mount what the rootfs needs, inside the new namespaces. */
function mounts(fs: Rootfs): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
  const lines = [`mount -t proc proc ${q(join(fs.root, 'proc'))}`]
  if (fs.opts.lower) {
    const work = join(dirname(fs.dir), 'work')
    lines.unshift(
      `mount -t overlay overlay -o ${q(`lowerdir=${fs.opts.lower},upperdir=${fs.dir},workdir=${work}`)} ${q(fs.root)}`,
    )
  }
  if (fs.opts.qemu) {
    lines.unshift(
      'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc',
      `printf '%s' ${q(AARCH64_BINFMT(fs.opts.qemu))} > /proc/sys/fs/binfmt_misc/register`,
    )
  }
  if (fs.opts.devpts) lines.push(`mount -t devpts -o newinstance,ptmxmode=0666 devpts ${q(join(fs.root, 'dev/pts'))}`)
  for (const [host, inside] of fs.binds) lines.push(`mount --bind -o ro ${q(host)} ${q(join(fs.root, inside))}`)
  return lines.join(' && ')
}

/** `argv` run inside the rootfs as PID 1 of new PID and mount namespaces. */
export function inRootfs(fs: Rootfs, argv: string[]): string[] {
  const exe = fs.opts.at ?? '/execd'
  const command = [...(fs.opts.prefix ?? []), ...argv.map(a => (a === 'EXECD' ? exe : a))]
  return [
    'unshare',
    // A user namespace of its own: its binfmt_misc registrations are its own, not the host's.
    ...(fs.opts.qemu ? ['--user', '--map-root-user'] : []),
    '--mount',
    '--pid',
    '--fork',
    '--kill-child',
    'bash',
    '-c',
    `${mounts(fs)} && exec ${CHROOT} "$0" "$@"`,
    fs.root,
    ...command,
  ]
}

/**
 * Serves `EXECD serve` (or the given argv, `EXECD` standing for the executable) from inside the
 * rootfs with a random token, and waits for `/ping`.
 */
export async function serveInRootfs(
  fs: Rootfs,
  opts: { argv?: string[]; main?: string[]; env?: Record<string, string>; readyMs?: number } = {},
): Promise<Served> {
  const port = await freePort()
  const token = `t-${crypto.randomUUID()}`
  const argv = opts.argv ?? ['EXECD', 'serve']
  const main = opts.main ? ['--', ...opts.main] : []
  const proc = Bun.spawn(inRootfs(fs, [...argv, '--port', String(port), '--host', '127.0.0.1', ...main]), {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: '/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', EXECD_ACCESS_TOKEN: token, ...opts.env },
  })
  let stderr = ''
  void eachText(proc.stderr, text => (stderr += text))
  const url = `http://127.0.0.1:${port}`
  const served: Served = {
    url,
    token,
    proc,
    fetch: (path, init = {}) =>
      fetch(url + path, {
        ...init,
        headers: { 'X-EXECD-ACCESS-TOKEN': token, ...(init.headers as Record<string, string>) },
      }),
    logs: () => stderr,
    stop: async () => {
      // unshare --kill-child passes nothing on: SIGTERM reaches execd (PID 1 inside) through it
      // only as the SIGKILL of --kill-child; signal the namespace's init directly instead.
      const inner = childOf(proc.pid)
      if (inner) process.kill(inner, 'SIGTERM')
      else proc.kill('SIGKILL')
      return await proc.exited
    },
  }
  try {
    await waitFor(
      `execd in the rootfs to answer /ping (${stderr})`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`execd exited early (${proc.exitCode}): ${stderr}`)
        return await served.fetch('/ping').then(
          r => r.status === 200,
          () => false,
        )
      },
      opts.readyMs ?? 30_000,
    )
  } catch (err) {
    proc.kill('SIGKILL')
    throw err
  }
  return served
}

/** The first child of `pid` (unshare's forked child: execd, PID 1 of the namespace). */
export function childOf(pid: number): number | undefined {
  const children = Bun.spawnSync(['pgrep', '-P', String(pid)])
    .stdout.toString()
    .trim()
    .split('\n')
    .filter(Boolean)
  return children.length ? Number(children[0]) : undefined
}
