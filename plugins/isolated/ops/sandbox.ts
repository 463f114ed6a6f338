/**
 * The bubblewrap command line of one session. Everything is decided here, from the validated
 * request: which namespaces, what is mounted where and writable, who the shell runs as.
 *
 * The sandbox is started as `env --ignore-signal=INT bwrap … env --default-signal=INT bash`:
 * LiveBash interrupts a run with SIGINT to the whole process group, and bwrap would die of it
 * (taking the session along); ignored in bwrap and reset to the default for bash, SIGINT
 * reaches the shell's INT trap and its foreground job as in a plain `/session`.
 */
import { lstatSync, readlinkSync } from 'node:fs'
import { dirname } from 'node:path'
import { OVERLAY_MOUNT_DIR, OVERLAY_SCRIPT } from './probe'
import { WITH_FD_9 } from './seccomp'

export type Profile = 'strict' | 'balanced'
export type WorkspaceMode = 'rw' | 'ro' | 'overlay'
export type UidMode = 'setpriv' | 'userns'

export interface Bind {
  source: string
  dest: string
  readonly: boolean
}

export interface SandboxSpec {
  bwrap: string
  setpriv?: string
  profile: Profile
  /** Canonical host path; mounted at the same path inside. */
  workspace: string
  mode: WorkspaceMode
  extraWritable: string[]
  binds: Bind[]
  shareNet: boolean
  uid?: number
  gid?: number
  uidMode: UidMode
  /** The dir of LiveBash's run file: bound read-only at the same path so `source` finds it. */
  codeDir: string
  /** Holds upper/ and work/ of an overlay workspace. */
  overlayDir?: string
  /**
   * Where execd holds the code dir and the layers open (core/held-dir.ts `/proc/<execd>/fd/<n>/…`),
   * where bwrap binds a descriptor (`--bind-fd`, 0.8.0 on): sh opens them (fds 7 and 8) and bwrap
   * binds what they are, never the names, which another user could have taken once a cleaner
   * removed execd's temp dir. Without it the names are bound.
   */
  heldAt?: { code: string; overlay?: string }
  /** Host files of execd's own (its token file) that must read as empty wherever the sandbox shows them. */
  hidden?: string[]
  /** The seccomp filter (seccomp.ts) as a file: bwrap reads it from fd 9, which sh opens for it. */
  seccompFile?: string
  /**
   * execd's temp dir (canonical): other sessions' layers and run files, /session's run files,
   * commands' logs. Where the sandbox's root would show it, it is a private tmpfs, as /tmp is.
   */
  tempRoot?: string
  /** Bytes each tmpfs may hold (0 or none: the kernel's default, half the RAM). */
  tmpfsBytes?: number
}

/** System directories a strict session sees (read-only); the rest of / is an empty tmpfs. */
export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']

const BASH = ['env', '--default-signal=INT', 'bash', '--noprofile', '--norc']

/** fd numbers sh opens for bwrap: the seccomp filter, the code dir, the overlay's layers. */
const SECCOMP_FD = 9
const CODE_FD = 7
const LAYERS_FD = 8

/** `sh -c` opening each file at its fd, then exec'ing the rest (126 where one cannot be opened). */
function withFds(fds: [number, string][]): string[] {
  if (fds.length === 1 && fds[0]![0] === SECCOMP_FD) return [...WITH_FD_9, fds[0]![1]]
  const opens = fds.map(([n], i) => `${n}<"$${i + 1}"`).join(' ')
  return ['sh', '-c', `exec ${opens} || exit 126; shift ${fds.length}; exec "$@"`, 'sh', ...fds.map(([, p]) => p)]
}

export function sandboxArgv(s: SandboxSpec): string[] {
  const a = ['env', '--ignore-signal=INT', s.bwrap, '--die-with-parent', '--unshare-pid', '--unshare-ipc']
  const fds: [number, string][] = []
  if (s.seccompFile) {
    fds.push([SECCOMP_FD, s.seccompFile])
    a.push('--seccomp', String(SECCOMP_FD))
  }
  if (s.heldAt) fds.push([CODE_FD, s.heldAt.code])
  if (s.heldAt?.overlay) fds.push([LAYERS_FD, s.heldAt.overlay])
  if (fds.length) a.unshift(...withFds(fds))
  a.push('--unshare-uts', '--hostname', 'isolated')
  if (!s.shareNet) a.push('--unshare-net')
  if (s.uidMode === 'userns' && s.uid !== undefined) {
    a.push('--unshare-user', '--disable-userns', '--uid', String(s.uid), '--gid', String(s.gid ?? s.uid))
  }
  if (s.profile === 'balanced') a.push('--ro-bind', '/', '/')
  else a.push(...systemDirs())
  // A private /tmp and /dev; mount points below are made after, so a workspace under /tmp works.
  // /tmp is 1777 as on any system: bwrap's tmpfs is 0755 root's, and a uid-switched shell could
  // not make a temp file (mktemp, pip, compilers failed with EACCES).
  // Each tmpfs is bounded: its pages belong to no process, so a session filling one unbounded
  // (half the RAM each) ran the machine out of memory and the OOM killer chose among execd and
  // its children. bwrap's /dev is a tmpfs too, /dev/shm a dir in it: a bounded tmpfs of its own,
  // the rest of /dev read-only (its device nodes stay writable: a ro mount does not stop them).
  const tmpfs = (dest: string) => {
    if (s.tmpfsBytes) a.push('--size', String(s.tmpfsBytes))
    a.push('--perms', '1777', '--tmpfs', dest)
  }
  a.push('--dev', '/dev')
  tmpfs('/dev/shm')
  a.push('--remount-ro', '/dev', '--proc', '/proc')
  tmpfs('/tmp')
  // A TMPDIR outside /tmp (/var/tmp, a volume) showed a balanced session every other session's
  // overlay files and code and every command's output; elsewhere (under /tmp, or not shown by a
  // strict session) it was the 0755 root-owned skeleton of the code dir's mount point, where a
  // uid-switched shell's mktemp failed. It is a private 1777 tmpfs in every session, as /tmp is.
  // Before the binds: those under it are made in the tmpfs (params.ts refuses a bind that would
  // contain it).
  const t = s.tempRoot
  if (t && t !== '/' && t !== '/tmp') tmpfs(t)
  const dirs = new Set<string>()
  const bind = (flag: string, source: string, dest: string) => {
    // Mount points bwrap makes on its tmpfs are 0700: a uid-switched shell could not reach them.
    // (/tmp itself is the private tmpfs, 1777 above: left as it is.)
    for (const d of ancestors(dest)) {
      if (d !== '/tmp' && !dirs.has(d)) (dirs.add(d), a.push('--perms', '0755', '--dir', d))
    }
    a.push(flag, source, dest)
  }
  bind(s.mode === 'rw' ? '--bind' : '--ro-bind', s.workspace, s.workspace)
  for (const p of s.extraWritable) bind('--bind', p, p)
  for (const b of s.binds) bind(b.readonly ? '--ro-bind' : '--bind', b.source, b.dest)
  if (s.heldAt) bind('--ro-bind-fd', String(CODE_FD), s.codeDir)
  else bind('--ro-bind', s.codeDir, s.codeDir)
  // Last, over whatever showed them: the token file under a balanced / or a strict /etc let the
  // session's code (with share_net) call execd's API as execd, outside every sandbox.
  for (const f of s.hidden ?? []) for (const at of shownAt(s, f)) a.push('--ro-bind', '/dev/null', at)
  // A strict session's root is bwrap's own tmpfs, which takes no size: it was writable by its
  // uid 0 without bound. Nothing promises it writable (its mount points are made by now).
  if (s.profile === 'strict') a.push('--remount-ro', '/')
  const drop = s.setpriv ? [s.setpriv, ...identity(s), '--bounding-set=-all', '--inh-caps=-all'] : []
  if (s.mode === 'overlay') {
    if (s.heldAt?.overlay) a.push('--bind-fd', String(LAYERS_FD), OVERLAY_MOUNT_DIR)
    else a.push('--bind', s.overlayDir!, OVERLAY_MOUNT_DIR)
    a.push('--cap-add', 'CAP_SYS_ADMIN', '--')
    a.push('sh', '-c', OVERLAY_SCRIPT, 'sh', s.workspace, OVERLAY_MOUNT_DIR, ...drop, ...BASH)
    return a
  }
  a.push('--chdir', s.workspace)
  if (drop.length && s.uidMode === 'setpriv') return [...a, '--', ...drop, ...BASH]
  return [...a, '--cap-drop', 'ALL', '--', ...BASH]
}

/** setpriv's arguments for a real uid/gid switch (none in a user namespace: bwrap maps it). */
function identity(s: SandboxSpec): string[] {
  if (s.uid === undefined || s.uidMode !== 'setpriv') return []
  return ['--reuid', String(s.uid), '--regid', String(s.gid ?? s.uid), '--clear-groups']
}

function systemDirs(): string[] {
  const out: string[] = []
  for (const d of SYSTEM_DIRS) {
    const st = lstatSync(d, { throwIfNoEntry: false })
    if (!st) continue
    // /bin → usr/bin on merged-/usr systems: the same link inside.
    if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(d), d)
    else if (st.isDirectory()) out.push('--ro-bind', d, d)
  }
  return out
}

/** Where inside the sandbox the host path `file` shows (none: it is not mounted there). */
function shownAt(s: SandboxSpec, file: string): string[] {
  const under = (dir: string) => isUnder(file, dir)
  const out = new Set<string>()
  if (s.profile === 'balanced' ? !under('/tmp') : SYSTEM_DIRS.some(under)) out.add(file)
  for (const dir of [s.workspace, ...s.extraWritable]) if (under(dir)) out.add(file)
  for (const b of s.binds) if (under(b.source)) out.add(b.dest + file.slice(b.source.length))
  return [...out]
}

/** `path` is `dir` or lies beneath it. */
export const isUnder = (path: string, dir: string) =>
  path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`)

/** `/a/b/c` → `/a`, `/a/b` (the dirs above a mount point, top first). */
function ancestors(path: string): string[] {
  const out: string[] = []
  for (let d = dirname(path); d !== '/' && d !== '.'; d = dirname(d)) out.unshift(d)
  return out
}
