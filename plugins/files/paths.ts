/**
 * Path handling for every route of the files section: `$VAR`/`${VAR}` and `~` expansion as the
 * reference does it, then resolution against the working directory, then (with `--root`)
 * confinement that follows symlinks the way the kernel will.
 */
import { readlinkSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { ExecdError, badRequest } from '../../core/errors'

/** `$NAME`, `${NAME}`; shell specials (`$1`, `$$`, `$?`) expand to nothing, as the reference's os.Expand. */
export function expandVariables(path: string, env: Record<string, string | undefined> = process.env): string {
  const undefinedNames: string[] = []
  const out = path.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([*#$@!?\-0-9]))/g,
    (_, braced, bare, special) => {
      if (special !== undefined) return ''
      const name: string = braced ?? bare
      const value = env[name]
      if (value === undefined) {
        undefinedNames.push(name)
        return ''
      }
      return value
    },
  )
  if (undefinedNames.length) {
    throw badRequest(`path references undefined environment variables: ${undefinedNames.join(', ')}`)
  }
  return out
}

/** `~` and `~/…` → home; `~user` is not supported (as the reference). */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home
  if (path.startsWith('~/')) return join(home, path.slice(2))
  return path
}

export interface ResolvedPath {
  /** Absolute, lexically normalised path as the caller named it: what responses report. */
  path: string
  /**
   * The path to hand to system calls. Without a root it equals `path`; with one, every
   * directory component is resolved through its symlinks and checked to be inside the root
   * (and, with `follow`, the last component too).
   */
  target: string
}

/**
 * Confines paths to a root directory when one is configured. Relative paths resolve against
 * the root (or the working directory when there is none).
 */
export class PathScope {
  readonly root?: string
  private readonly base: string

  constructor(root?: string, cwd = process.cwd()) {
    if (root) {
      try {
        this.root = realpathSync(resolve(cwd, root))
      } catch (err) {
        throw new ExecdError('RUNTIME_ERROR', `--root ${root}: ${(err as Error).message}`)
      }
    }
    this.base = this.root ?? cwd
  }

  /** Expands and resolves a request path. `follow`: the operation follows a final symlink. */
  resolve(raw: string, opts: { follow?: boolean } = {}): ResolvedPath {
    if (raw.includes('\0')) throw badRequest(`invalid path: contains a NUL byte`)
    const path = resolve(this.base, expandHome(expandVariables(raw)))
    // Followed even without a root, so that an atomic rename replaces the file a symlink
    // points to rather than the link.
    if (!this.root) return { path, target: opts.follow ? realpathOfExistingPrefix(path) : path }
    this.ensureInside(path, raw)
    const parent = dirname(path)
    const name = path.slice(parent.length).replace(/^\//, '')
    const realParent = realpathOfExistingPrefix(parent)
    let target = name ? join(realParent, name) : realParent
    if (opts.follow) target = realpathOfExistingPrefix(target)
    this.ensureInside(target, raw)
    return { path, target }
  }

  /** True if `p` is the root itself or below it. */
  contains(p: string): boolean {
    if (!this.root) return true
    return p === this.root || p.startsWith(this.root === sep ? sep : this.root + sep)
  }

  private ensureInside(p: string, raw: string): void {
    if (!this.contains(p)) throw badRequest(`path is outside the root ${this.root}: ${raw}`)
  }
}

/**
 * realpath of the longest prefix that exists, with the rest appended: a symlink anywhere in
 * the existing part is resolved (so it cannot point out of the root unnoticed), while the
 * part still to be created is kept as named.
 */
export function realpathOfExistingPrefix(p: string, hops = 0): string {
  const rest: string[] = []
  let cur = p
  for (;;) {
    try {
      const real = realpathSync(cur)
      return rest.length ? join(real, ...rest.reverse()) : real
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
      // A dangling symlink: the kernel would create its target, so that is where we are.
      const link = readlinkOrUndefined(cur)
      if (link !== undefined) {
        if (hops >= 40) throw Object.assign(new Error(`too many levels of symbolic links: ${p}`), { code: 'ELOOP' })
        const next = resolve(dirname(cur), link)
        return realpathOfExistingPrefix(rest.length ? join(next, ...rest.reverse()) : next, hops + 1)
      }
      const up = dirname(cur)
      if (up === cur) return p
      rest.push(cur.slice(up.length).replace(/^\//, ''))
      cur = up
    }
  }
}

function readlinkOrUndefined(p: string): string | undefined {
  try {
    return readlinkSync(p)
  } catch {
    return undefined
  }
}
