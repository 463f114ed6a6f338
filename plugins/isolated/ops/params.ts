/**
 * A create request checked against the contract and this machine, with its defaults filled
 * in: what the sandbox is built from and what get/create echo. Every path is made canonical
 * (symlinks resolved, under --root) before it is checked, so what is checked is what is mounted.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, resolve, sep } from 'node:path'
import { childEnv } from '../../../core/child-env'
import { ExecdError, PREFIX } from '../../../core/errors'
import { SHELL_NAME } from '../../../core/exec-strings'
import { confineCwd } from '../../../core/workdir'
import type { Probed } from './probe'
import { isUnder, SYSTEM_DIRS, type Bind, type Profile, type UidMode, type WorkspaceMode } from './sandbox'
import type { IsolatedSettings } from './session'

export interface CreateRequest {
  workspace: { path: string; mode?: WorkspaceMode }
  profile?: Profile
  extra_writable?: string[]
  binds?: { source: string; dest?: string; readonly?: boolean }[]
  share_net?: boolean
  env_passthrough?: { mode?: 'allow' | 'deny'; keys?: string[] }
  uid?: number
  gid?: number
  uid_mode?: UidMode
  idle_timeout_seconds?: number
}

/** The creation parameters as resolved (defaults filled in): what get/create echo. */
export interface Params {
  profile: Profile
  workspace: { path: string; mode: WorkspaceMode }
  extra_writable: string[]
  binds: Bind[]
  share_net: boolean
  env_passthrough?: { mode: 'allow' | 'deny'; keys: string[] }
  uid?: number
  gid?: number
  uid_mode: UidMode
  idle_timeout_seconds: number
}

/** The part of the capabilities' message (`a; b`) that starts with `start`, or `fallback`. */
const reason = (message: string | undefined, start: string, fallback: string): string =>
  message?.split('; ').find(part => part.startsWith(start)) ?? fallback

/** 503 NOT_SUPPORTED: the contract's answer when isolation cannot be had on this machine. */
export class NotSupported extends ExecdError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message)
  }
  override get status(): number {
    return 503
  }
}

export const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)
/** The largest uid/gid a session takes: 4294967295 is (uid_t)-1, which setresuid leaves as it is. */
export const MAX_ID = 4294967294

/**
 * What a create request's words alone decide, before this machine is looked at: the CLI checks
 * `exec --isolated` with it too, so a mistyped --mode is a usage error there, a missing
 * workspace not.
 */
export function checkShape(req: CreateRequest): void {
  if (!req || typeof req !== 'object') throw invalid('expected a JSON object')
  const ws = req.workspace
  if (!ws || typeof ws.path !== 'string' || ws.path === '') throw invalid('workspace.path is required')
  // The CLI calls here without the route's schema: the same choices. `--mode overlya` ran the
  // session with the workspace read-only, `--profile x` as strict, each without a word.
  oneOf(ws.mode, 'workspace.mode', ['rw', 'ro', 'overlay'])
  oneOf(req.profile, 'profile', ['strict', 'balanced'])
  oneOf(req.uid_mode, 'uid_mode', ['setpriv', 'userns'])
  if (!isAbsolute(ws.path)) throw invalid(`workspace.path must be an absolute path: ${ws.path}`)
}

/** Checks a create request against the contract and this machine; fills in the defaults. */
export function validateCreate(req: CreateRequest, p: Probed, settings: IsolatedSettings): Params {
  checkShape(req)
  const ws = req.workspace
  const workspace = existingDir(ws.path, 'workspace.path', settings.root)
  if (workspace === '/') throw invalid('workspace.path cannot be / (the whole filesystem would be writable)')
  const mode = ws.mode ?? 'rw'
  if (mode === 'overlay') {
    if (!p.diff_supported) throw new NotSupported(`overlay workspaces are unavailable here: ${p.message}`)
    if (/[,:\\]/.test(workspace)) throw invalid(`an overlay workspace path cannot contain , : or \\: ${workspace}`)
    // Its lower layer is the workspace without what is mounted in it: the /dev/null over the
    // token file (sandbox.ts) did not reach the merged view, where the token read as it is.
    if (hiddenFiles(settings.hidden).some(f => isUnder(f, workspace))) {
      throw invalid(
        `an overlay workspace cannot hold execd's access token file: use mode rw or ro, or another directory`,
      )
    }
  }
  const uidMode = req.uid_mode ?? 'setpriv'
  if (req.gid !== undefined && req.uid === undefined) throw invalid('gid needs uid')
  // The CLI calls here without the route's schema: the same range. (uid_t)-1 is setresuid's
  // "leave it as it is": a shell asked to run as 4294967295 ran as root.
  for (const [name, id] of [
    ['uid', req.uid],
    ['gid', req.gid],
  ] as const) {
    // A numeric string passes the route's schema (Elysia's integer) and setpriv reads it as such.
    const n = typeof id === 'string' ? Number(id) : id
    if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= MAX_ID)) {
      throw invalid(`${name} must be an integer from 0 to ${MAX_ID}`)
    }
  }
  if (req.uid !== undefined) {
    // The reason the capabilities give (setpriv there but unable to switch as an unprivileged
    // execd, or missing): "setpriv is unavailable" alone sent one looking for a package.
    if (uidMode === 'setpriv' && !p.setpriv_available)
      throw new NotSupported(`uid_mode setpriv: ${reason(p.message, 'setpriv', 'setpriv is unavailable')}`)
    if (uidMode === 'userns' && !p.userns_available)
      throw new NotSupported(`uid_mode userns: ${reason(p.message, 'no user namespaces', 'no user namespaces here')}`)
    if (uidMode === 'userns' && mode === 'overlay') throw invalid('an overlay workspace needs uid_mode setpriv')
  }
  const extra = (req.extra_writable ?? []).map(x =>
    allowed(settings, existingDir(x, 'extra_writable', settings.root), 'extra_writable'),
  )
  const binds = (req.binds ?? []).map((b, i): Bind => {
    if (!b || typeof b.source !== 'string' || !b.source) throw invalid(`binds[${i}].source is required`)
    const source = allowed(settings, existingPath(b.source, `binds[${i}].source`, settings.root), `binds[${i}].source`)
    const dest = b.dest ?? source
    if (!isAbsolute(dest) || dest.split('/').includes('..')) throw invalid(`binds[${i}].dest must be absolute: ${dest}`)
    // Each was a 500 once bwrap ran: a NUL quoted the runtime ("must be a string without null
    // bytes"), a bind over / left the sandbox without its system and the shell exited at start.
    if (dest.includes('\0')) throw invalid(`binds[${i}].dest contains a NUL byte`)
    if (resolve(dest) === '/') throw invalid(`binds[${i}].dest cannot be / (the sandbox's system would be replaced)`)
    return { source, dest: resolve(dest), readonly: b.readonly ?? false }
  })
  const profile = req.profile ?? 'strict'
  checkMountPoints(binds, profile, { path: workspace, mode }, extra)
  const ep = req.env_passthrough
  if (ep) {
    for (const k of ep.keys ?? []) if (!SHELL_NAME.test(k)) throw invalid(`env_passthrough.keys: not a name: ${k}`)
  }
  const idle = req.idle_timeout_seconds ?? settings.idleSeconds
  if (!Number.isFinite(idle) || idle < 0) throw invalid(`idle_timeout_seconds must be >= 0, got ${idle}`)
  return {
    profile,
    workspace: { path: workspace, mode },
    extra_writable: extra,
    binds,
    share_net: req.share_net ?? false,
    ...(ep ? { env_passthrough: { mode: ep.mode ?? 'allow', keys: ep.keys ?? [] } } : {}),
    ...(req.uid !== undefined ? { uid: req.uid, gid: req.gid ?? req.uid } : {}),
    uid_mode: uidMode,
    idle_timeout_seconds: idle,
  }
}

/**
 * A 400 for a bind whose dest bwrap would have to make where the sandbox's tree is read-only: a
 * balanced session's / (the host's), a strict one's system dirs, a ro or overlay workspace (ro
 * while bwrap mounts), a ro bind before it. bwrap makes a missing mount point and cannot there:
 * the session's start was a 500 "bash has exited (exit status 1)", bwrap's reason (Can't mkdir
 * /mnt/x: Read-only file system) lost. An existing dest there must be of the source's kind.
 */
function checkMountPoints(binds: Bind[], profile: Profile, ws: Params['workspace'], extra: string[]): void {
  // Where each mount shows the host: `host` is what lies at `at` (a bind's source).
  const mounts = [
    { at: '/', host: '/', writable: profile === 'strict' },
    ...(profile === 'strict'
      ? SYSTEM_DIRS.filter(d => lstatSync(d, { throwIfNoEntry: false })).map(at => ({ at, host: at, writable: false }))
      : []),
    { at: '/tmp', host: '', writable: true },
    { at: privateTempRoot(), host: '', writable: true },
    { at: ws.path, host: ws.path, writable: ws.mode === 'rw' },
    ...extra.map(at => ({ at, host: at, writable: true })),
  ]
  binds.forEach((b, i) => {
    // The innermost mount holding the dest decides (later mounts cover earlier ones).
    let holder = mounts[0]!
    for (const m of mounts) if (isUnder(b.dest, m.at) && m.at.length >= holder.at.length) holder = m
    if (!holder.writable) {
      const there = statSync(holder.host + b.dest.slice(holder.at === '/' ? 0 : holder.at.length), {
        throwIfNoEntry: false,
      })
      if (!there) {
        throw invalid(
          `binds[${i}].dest ${b.dest} does not exist, and ${holder.at} is read-only in this session: ` +
            `the mount point cannot be made there (choose an existing directory, or one under /tmp)`,
        )
      }
      const dir = there.isDirectory()
      if (dir !== statSync(b.source).isDirectory()) {
        throw invalid(
          `binds[${i}].dest ${b.dest} ${dir ? 'is' : 'is not'} a directory and its source ${dir ? 'is not' : 'is'}`,
        )
      }
    }
    mounts.push({ at: b.dest, host: b.source, writable: !b.readonly })
  })
}

/** A 400 unless `value` is absent or one of `choices`. */
function oneOf(value: unknown, field: string, choices: readonly string[]): void {
  if (value !== undefined && !choices.includes(value as string)) {
    throw invalid(
      `${field} must be ${choices.join(', ').replace(/, ([^,]*)$/, ' or $1')}, got ${JSON.stringify(value)}`,
    )
  }
}

/** `path` if it lies within --isolated-binds; else a 400 naming the allowlist. */
function allowed(settings: IsolatedSettings, path: string, field: string): string {
  const ok = settings.bindsAllowlist.some(root => path === root || path.startsWith(root + sep))
  if (!ok) {
    const list = settings.bindsAllowlist.join(', ') || 'empty'
    throw invalid(`${field} ${path} is outside the allowlist (--isolated-binds: ${list})`)
  }
  return path
}

/**
 * The PATH of a session whose env_passthrough keeps execd's out. Without one bash sets its
 * built-in default, which ends in `.`: a command named in the workspace (a file a build or a
 * download put there called `ls`) ran in place of the system's when nothing earlier matched.
 */
const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The shell's environment: execd's child environment, filtered by env_passthrough. */
export function sessionEnv(params: Params): Record<string, string> {
  const all = Object.entries(childEnv()).filter(([k]) => SHELL_NAME.test(k))
  const ep = params.env_passthrough
  if (!ep) return Object.fromEntries(all)
  const keys = new Set(ep.keys)
  const env = Object.fromEntries(all.filter(([k]) => (ep.mode === 'allow' ? keys.has(k) : !keys.has(k))))
  return { PATH: SAFE_PATH, ...env }
}

/**
 * Files no session may read (execd's token file) as they are now, symlinks resolved (a
 * Kubernetes secret is a link to a link that a rotation swaps): each regular file that exists.
 */
export function hiddenFiles(paths: readonly string[] = []): string[] {
  const out = new Set<string>()
  for (const path of paths) {
    try {
      const real = realpathSync(path)
      if (statSync(real).isFile()) out.add(real)
    } catch {} // gone (rotated away): nothing left to read
  }
  return [...out]
}

/** execd's temp dir, canonical (where sessions' layers, run files and commands' logs live). */
export function privateTempRoot(): string {
  try {
    return realpathSync(tmpdir())
  } catch {
    return resolve(tmpdir())
  }
}

/**
 * A 400 for a path that holds execd's temp dir: as a workspace (`/tmp`), the code inside read
 * and rewrote other sessions' overlay layers and run files, which their shells then sourced.
 */
function notPrivate(path: string, field: string): string {
  const root = privateTempRoot()
  if (isUnder(root, path)) {
    throw invalid(
      `${field} ${path} holds execd's temp dir ${root} (other sessions' files): choose a directory within it`,
    )
  }
  return path
}

function existingPath(path: string, field: string, root: string | undefined): string {
  if (!isAbsolute(path)) throw invalid(`${field} must be an absolute path: ${path}`)
  let real: string
  try {
    // Under --root, as every path the API resolves: inside it, symlinks included.
    real = realpathSync(confineCwd(path, root))
  } catch (err) {
    throw invalid(
      `${field} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message}`,
    )
  }
  return notPrivate(real, field)
}

function existingDir(path: string, field: string, root: string | undefined): string {
  const real = existingPath(path, field, root)
  if (!lstatSync(real).isDirectory()) throw invalid(`${field} ${path} is not a directory`)
  return real
}
