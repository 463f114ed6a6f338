/**
 * Path handling for every route of the files section: `$VAR`/`${VAR}` and `~` expansion as the
 * reference does it, then resolution against the working directory, then (with `--root`)
 * confinement: `anchor` walks the path beneath the root's descriptor (beneath.ts), so what is
 * checked is what is used. Messages name the path as the client wrote it, never the expansion.
 */
import { existsSync, readlinkSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { ExecdError, badRequest } from '../../core/errors'
import { Anchor, OutsideRoot, PathChanged, openDirectory, walkBeneath, type WalkOptions } from './beneath'

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
    if (!existsSync('/proc/self/fd')) {
      throw new ExecdError('RUNTIME_ERROR', 'the files section needs /proc (mounted) to resolve paths safely')
    }
    this.base = this.root ?? cwd
  }

  /**
   * Expands a request path and normalises it against the base, checking it names something
   * inside the root: what can be refused without touching the filesystem, so a request can be
   * validated whole before anything changes.
   */
  normalise(raw: string): string {
    if (raw === '') throw badRequest('invalid path: empty (use "." for the working directory)')
    if (raw.includes('\0')) throw badRequest(`invalid path: contains a NUL byte`)
    const expanded = expandHome(expandVariables(raw))
    if (expanded === '') throw badRequest(`invalid path: ${raw} is empty once expanded`)
    const path = resolve(this.base, expanded)
    this.ensureInside(path, raw)
    return path
  }

  /**
   * Resolves a request path to the directory holding its entry, walked beneath the root (see
   * beneath.ts). The caller must `close()` the anchor. `follow`: a final symlink is resolved too;
   * `mkdirs`/`mkdirLeaf`: missing directories are created on the way / as the entry.
   */
  anchor(raw: string, opts: WalkOptions = {}): Anchor {
    const path = this.normalise(raw)
    let walked
    try {
      walked = this.root ? this.walkConfined(path, opts) : this.walkOpen(path, opts)
    } catch (err) {
      if (err instanceof OutsideRoot) throw badRequest(`path is outside the root ${this.root}: ${raw}`)
      if (err instanceof PathChanged) throw badRequest(`path changed while it was being resolved: ${raw}`)
      throw err
    }
    return new Anchor(walked.dir, walked.name, raw, path, walked.created)
  }

  /** Runs `use` with the anchor of `raw`, closing it after, whatever happens. */
  async with<T>(raw: string, opts: WalkOptions, use: (anchor: Anchor) => Promise<T>): Promise<T> {
    const anchor = this.anchor(raw, opts)
    try {
      return await use(anchor)
    } finally {
      anchor.close()
    }
  }

  private walkConfined(path: string, opts: WalkOptions) {
    const root = this.root!
    const rel = path === root ? [] : path.slice(root === sep ? 1 : root.length + 1).split(sep)
    return walkBeneath(root, true, openDirectory(root), rel, opts)
  }

  /**
   * Without a root nothing needs confining: the parent is opened by the kernel in one call
   * (the fast path), and only the entry itself (or missing parents) goes through the walk.
   */
  private walkOpen(path: string, opts: WalkOptions) {
    if (path === sep) return walkBeneath(sep, false, openDirectory(sep), [], opts)
    let start: number
    try {
      start = openDirectory(dirname(path))
    } catch (err) {
      if (!opts.mkdirs) throw err
      return walkBeneath(sep, false, openDirectory(sep), path.slice(1).split(sep), opts)
    }
    return walkBeneath(sep, false, start, [basename(path)], opts)
  }

  /**
   * Expands and resolves a request path to path strings (the kernel resolves them again when
   * they are used: racy under `--root`; `anchor` is not). `follow`: a final symlink is followed.
   */
  resolve(raw: string, opts: { follow?: boolean } = {}): ResolvedPath {
    const path = this.normalise(raw)
    // Followed even without a root, so that an atomic rename replaces the file a symlink
    // points to rather than the link.
    if (!this.root) return { path, target: opts.follow ? realpathOfExistingPrefix(path) : path }
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
