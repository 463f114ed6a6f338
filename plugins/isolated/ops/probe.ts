/**
 * What this machine offers for isolated sessions, found by trying it, not assumed: bubblewrap
 * present and able to make the namespaces a session needs, setpriv for a real uid switch, a
 * user namespace, and an overlay mount inside the sandbox (what diff and commit rest on).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnOwned } from '../../../core/process'
import { ownedTempDir } from '../../../core/temp-dir'
import { noSetIdFilter, WITH_FD_9 } from './seccomp'

export interface Capabilities {
  available: boolean
  isolator: string
  version?: string
  /** Why isolation is unavailable, or what part of it is. */
  message?: string
  setpriv_available: boolean
  userns_available: boolean
  diff_supported: boolean
  commit_supported: boolean
}

/** The probe's findings plus the resolved executables the sandbox builder needs. */
export interface Probed extends Capabilities {
  bwrap?: string
  setpriv?: string
  /** bwrap binds an open descriptor (`--bind-fd`, `--ro-bind-fd`: 0.8.0 on). */
  bindFd?: boolean
}

/** What GET /v1/isolated/capabilities and `execd doctor` say: the probe without the paths it resolved. */
export const publicPart = ({ bwrap: _b, setpriv: _s, bindFd: _f, ...caps }: Probed): Capabilities => caps

/** Whether a bubblewrap of `version` (`0.8.0`) has `--bind-fd`. */
export function hasBindFd(version: string | undefined): boolean {
  const [major, minor] = (version ?? '').split('.').map(Number)
  return major! > 0 || (major === 0 && minor! >= 8)
}

/** The bubblewrap executable `option` names: a path, or a name looked up on PATH. */
function resolveBwrap(option: string): string | undefined {
  if (option.includes('/')) {
    try {
      return statSync(option).isFile() ? option : undefined
    } catch {
      return undefined
    }
  }
  return Bun.which(option) ?? undefined
}

/** Runs a short probe: exit code and stderr, killed after 10 s. */
async function tryRun(argv: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const p = spawnOwned(argv, { timeoutMs: 10_000, stdout: 'ignore' })
    const [err, info] = await Promise.all([new Response(p.stderr).text(), p.exited])
    return { ok: info.code === 0, err: err.trim().slice(0, 500) }
  } catch (err) {
    return { ok: false, err: (err as Error).message }
  }
}

/** The least a session needs: the namespaces of `strict`, /proc, and env resetting SIGINT. */
const BASE = ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net']
const ROOTFS = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp']

export async function probe(option: string): Promise<Probed> {
  const none = { setpriv_available: false, userns_available: false, diff_supported: false, commit_supported: false }
  const bwrap = resolveBwrap(option)
  if (!bwrap) {
    const where = option.includes('/') ? `at ${option}` : `on PATH (${process.env.PATH ?? ''})`
    return {
      available: false,
      isolator: 'bubblewrap',
      message: `bubblewrap (${option}) not found ${where}: install the bubblewrap package or set --isolated-bwrap`,
      ...none,
    }
  }
  let v: ReturnType<typeof spawnOwned>
  try {
    v = spawnOwned([bwrap, '--version'], { timeoutMs: 10_000 })
  } catch (err) {
    // Found, and not a program the kernel runs (ENOEXEC): unavailable, as one that cannot make
    // the sandbox is, rather than a 500 with the spawn's error.
    if ((err as NodeJS.ErrnoException).code !== 'ENOEXEC') throw err
    return { available: false, isolator: 'bubblewrap', message: `${bwrap} cannot be run: exec format error`, ...none }
  }
  const [out] = await Promise.all([new Response(v.stdout).text(), v.exited])
  const version = out.trim().replace(/^bubblewrap\s+/, '') || undefined
  const works = await tryRun([bwrap, ...BASE, ...ROOTFS, '--', 'env', '--default-signal=INT', 'true'])
  if (!works.ok) {
    return {
      available: false,
      isolator: 'bubblewrap',
      version,
      message: `${bwrap} cannot create the sandbox here: ${works.err || 'it failed'}`,
      ...none,
    }
  }
  // Every session keeps its run files (and the filter) in execd's temp dir: one that cannot be
  // used made this route a 500 with the probe's mkdtemp error.
  const filtered = await probeSeccomp(bwrap).catch((err: Error) => ({ ok: false, err: '', unusable: err.message }))
  if ('unusable' in filtered) {
    return { available: false, isolator: 'bubblewrap', version, message: filtered.unusable, ...none }
  }
  if (!filtered.ok) {
    return {
      available: false,
      isolator: 'bubblewrap',
      version,
      message: `${bwrap} cannot apply the seccomp filter every session runs under: ${filtered.err || 'it failed'}`,
      ...none,
    }
  }
  const setpriv = Bun.which('setpriv') ?? undefined
  const switched = setpriv
    ? await tryRun([bwrap, ...BASE, ...ROOTFS, '--', setpriv, '--reuid', '0', 'true'])
    : undefined
  const setprivOk = switched?.ok ?? false
  const userns = await tryRun([bwrap, '--unshare-user', '--disable-userns', ...BASE, ...ROOTFS, '--', 'true'])
  const overlay = setprivOk ? await probeOverlay(bwrap, setpriv!) : false
  const missing = [
    // An unprivileged execd has setpriv but cannot switch users with it: "missing" sent one
    // installing a package that was there.
    !setprivOk &&
      (setpriv
        ? `setpriv (${setpriv}) cannot switch users in the sandbox${process.getuid?.() === 0 ? '' : ' (execd is not root)'}: no uid switch, no overlay workspaces${switched?.err ? ` (${switched.err})` : ''}`
        : 'setpriv (util-linux) is missing: no uid switch, no overlay workspaces'),
    !userns.ok && `no user namespaces (${userns.err})`,
    setprivOk && !overlay && 'overlayfs cannot be mounted in the sandbox: no overlay workspaces',
  ].filter(Boolean)
  return {
    available: true,
    isolator: 'bubblewrap',
    version,
    ...(missing.length ? { message: missing.join('; ') } : {}),
    setpriv_available: setprivOk,
    userns_available: userns.ok,
    diff_supported: overlay,
    commit_supported: overlay,
    bwrap,
    setpriv,
    bindFd: hasBindFd(version),
  }
}

/**
 * Runs a sandbox under the sessions' seccomp filter (seccomp.ts). Sessions are not started
 * without it, and a kernel or bwrap that cannot apply it failed each session's start with a 500
 * rather than saying so here (503 NOT_SUPPORTED).
 */
async function probeSeccomp(bwrap: string): Promise<{ ok: boolean; err: string }> {
  const filter = noSetIdFilter()
  if (!filter) return { ok: true, err: '' }
  // Owned: an execd killed mid-probe leaves it for the next probe to sweep.
  const owned = ownedTempDir('execd-seccomp-probe')
  const dir = owned.path
  try {
    const file = join(dir, 'filter.bpf')
    writeFileSync(file, filter, { mode: 0o600 })
    return await tryRun([...WITH_FD_9, file, bwrap, ...BASE, ...ROOTFS, '--seccomp', '9', '--', 'true'])
  } finally {
    owned.close()
  }
}

/** Mounts a real overlay in a throwaway sandbox, the way an overlay session does. */
async function probeOverlay(bwrap: string, setpriv: string): Promise<boolean> {
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return false
  const owned = ownedTempDir('execd-overlay-probe')
  const dir = owned.path
  try {
    for (const d of ['lower', 'ovl/upper', 'ovl/work']) mkdirSync(join(dir, d), { recursive: true })
    const lower = join(dir, 'lower')
    const argv = [
      bwrap,
      ...BASE,
      ...ROOTFS,
      '--ro-bind',
      lower,
      lower,
      '--bind',
      join(dir, 'ovl'),
      OVERLAY_MOUNT_DIR,
      '--cap-add',
      'CAP_SYS_ADMIN',
      '--',
      'sh',
      '-c',
      OVERLAY_SCRIPT,
      'sh',
      lower,
      OVERLAY_MOUNT_DIR,
      setpriv,
      '--bounding-set=-all',
      '--inh-caps=-all',
      'sh',
      '-c',
      'echo x > probe',
    ]
    return (await tryRun(argv)).ok && statSync(join(dir, 'ovl/upper/probe'), { throwIfNoEntry: false }) !== undefined
  } finally {
    owned.close()
  }
}

/** Where the overlay's upper and work dirs are bound in the sandbox until mounted (private /tmp). */
export const OVERLAY_MOUNT_DIR = '/tmp/.execd-overlay'

/**
 * Run in the sandbox with CAP_SYS_ADMIN as `sh -c SCRIPT sh <workspace> <ovl> <command...>`:
 * mounts the overlay over the workspace (lower: the read-only bind of the real one), drops the
 * bind of the upper layer so the session cannot reach it behind the overlay's back, enters
 * the workspace and execs the command (setpriv, which drops every capability).
 */
export const OVERLAY_SCRIPT = [
  'set -e',
  'mount -t overlay execd-overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$1"',
  'umount "$2"',
  'rmdir "$2"',
  'cd "$1"',
  'shift 2',
  'exec "$@"',
].join('\n')
