/**
 * Path resolution beneath a held directory, so `--root` cannot be escaped by a directory swapped
 * for a symlink between check and use. Node has no openat(2), but Linux's `/proc/self/fd/N` is
 * a magic link to exactly the directory fd N holds: `/proc/self/fd/N/name` resolves `name` in
 * that directory and nothing above it by name again. Each component is opened that way with
 * O_NOFOLLOW; a symlink met on the way is resolved here, component by component, and refused
 * when it leads out of the root. Operations then act on `/proc/self/fd/<dir>/<name>` (see
 * Anchor), never on a path string that the kernel would resolve again.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, rmdirSync } from 'node:fs'
import { isClaimed, madeInFlight, releaseMade } from './made-dirs'

/** O_PATH (same value on every Linux architecture Bun targets): a handle to a place; Node does not export it. */
export const O_PATH = 0o10000000
const { O_DIRECTORY, O_NOFOLLOW } = constants
const DIR_FLAGS = O_PATH | O_DIRECTORY | O_NOFOLLOW
/** The kernel's own limit on symlinks per lookup (MAXSYMLINKS); re-examining a swapped entry counts too. */
const MAX_HOPS = 40

/**
 * A path component: text, or its exact bytes when they are not UTF-8 (a string would lose
 * them; node:fs takes either). Components that decode are always strings, so `.`, `..` and
 * `''` are only ever strings.
 */
export type Name = string | Buffer

/** `/proc/self/fd/<fd>/<name>`: `name` in the directory `fd` holds (`.`: that directory). */
export function procPath(fd: number, name?: string): string
export function procPath(fd: number, name: Name): Name
export function procPath(fd: number, name: Name = '.'): Name {
  const dir = `/proc/self/fd/${fd}/`
  return typeof name === 'string' ? dir + name : Buffer.concat([Buffer.from(dir), name])
}

const fatal = new TextDecoder('utf-8', { fatal: true })

/** Splits a byte path on `/` into components, each a string when it decodes. */
export function splitBytes(bytes: Buffer): Name[] {
  const out: Name[] = []
  for (let from = 0; ;) {
    const slash = bytes.indexOf(0x2f, from)
    const part = bytes.subarray(from, slash === -1 ? bytes.length : slash)
    out.push(asName(part))
    if (slash === -1) return out
    from = slash + 1
  }
}

/** The component as a string if its bytes are UTF-8, else as (a copy of) the bytes. */
export function asName(bytes: Uint8Array): Name {
  try {
    return fatal.decode(bytes)
  } catch {
    return Buffer.from(bytes)
  }
}

/** The path leads out of the root (by `..` or a symlink). */
export class OutsideRoot extends Error {}
/** A directory already walked was replaced while the walk went on. */
export class PathChanged extends Error {}

const errno = (code: string, message: string) => Object.assign(new Error(message), { code })
const codeOf = (err: unknown) => (err as NodeJS.ErrnoException)?.code

export interface WalkOptions {
  /** Resolve a final symlink too (beneath the root); the entry found is then not a symlink. */
  follow?: boolean
  /** Create missing directories on the way (0777 & ~umask). */
  mkdirs?: boolean
  /** Create the entry itself as a directory if missing (implies following a final symlink). */
  mkdirLeaf?: boolean
  /** Keep what was created so that `Anchor.undoCreated` can remove it. */
  track?: boolean
}

/** A directory the walk created: `name` in the directory held by `dir`. */
interface Created {
  dir: number
  name: Name
  /** Its key in made-dirs.ts. */
  key: string
}

/**
 * A resolved entry: the directory that holds it (an O_PATH descriptor) and its name there.
 * `raw` is the path as the client wrote it (for messages), `path` the normalised one (for answers).
 */
export class Anchor {
  constructor(
    readonly dir: number,
    readonly name: Name,
    readonly raw: string,
    readonly path: string,
    private readonly created: Created[] = [],
    /** The exact bytes of `path` when they are not UTF-8 (`path` then shows them as `\xHH`). */
    readonly bytes?: Buffer,
  ) {}

  /** The entry, reached through the held directory. */
  get at(): Name {
    return procPath(this.dir, this.name)
  }

  /** Another entry of the same directory (a temp file beside this one). */
  beside(name: string): string {
    return procPath(this.dir, name)
  }

  /**
   * Removes the directories this walk created, deepest first; any that is no longer empty
   * stays, and so does one a mkdir has claimed meanwhile (its parents, not empty then, too).
   */
  undoCreated(): void {
    for (const c of [...this.created].reverse()) {
      if (isClaimed(c.key)) continue
      try {
        rmdirSync(procPath(c.dir, c.name))
      } catch {}
    }
  }

  /** The file descriptors this anchor holds open until `close()`. */
  get heldFds(): number {
    return new Set([this.dir, ...this.created.map(c => c.dir)]).size
  }

  close(): void {
    for (const c of this.created) releaseMade(c.key)
    for (const fd of new Set([this.dir, ...this.created.map(c => c.dir)])) closeQuietly(fd)
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {}
}

/** Opens a directory to start a walk from (kernel resolution: only for the root itself or without one). */
export const openDirectory = (path: string): number => openSync(path, O_PATH | O_DIRECTORY)

/**
 * A confined walk's root held open: `path` is what its absolute symlinks are read against, and
 * `open()` gives a new descriptor of the very directory held (a `..` or an absolute link starts
 * over from it). For a root whose path someone else may change under execd (a session's view).
 */
export interface HeldRoot {
  readonly path: string
  open(): number
}

/** A new descriptor of the directory `fd` holds (the magic link is that directory, not a path). */
export const reopenDirectory = (fd: number): number => openSync(procPath(fd), O_PATH | O_DIRECTORY)

/**
 * Opens `components` from the directory `start` (owned by it from here on: closed) without
 * following any symlink: the path is refused (OutsideRoot) unless each of them is a directory
 * as it stands.
 */
export function openExact(start: number, components: readonly string[]): number {
  let fd = start
  for (const c of components) {
    let next: number
    try {
      next = openSync(procPath(fd, c), DIR_FLAGS)
    } catch (err) {
      closeQuietly(fd)
      if (codeOf(err) === 'ENOTDIR' || codeOf(err) === 'ELOOP') throw new OutsideRoot()
      throw err
    }
    closeQuietly(fd)
    fd = next
  }
  return fd
}

/**
 * Walks `components` from the directory `start` (owned by the walk from here on), which is
 * `root` itself when `confined`. Returns the directory holding the entry and its name.
 */
export function walkBeneath(
  root: string | HeldRoot,
  confined: boolean,
  start: number,
  components: readonly Name[],
  opts: WalkOptions,
  /** How many components of the request's path lie above `start` (for `failedDepth`). */
  above = 0,
): { dir: number; name: Name; created: Created[] } {
  return new Walk(root, confined, start, opts, above).run(components)
}

const failures = new WeakMap<object, number>()

/**
 * How many leading components of the request's path lead to the directory a walk could not
 * enter or make (`mkdir /a/b` failing on the way to `/a/b/c/file`: 2), counting a component
 * whose symlink was being resolved as the place. Undefined for any other failure.
 */
export function failedDepth(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? failures.get(err) : undefined
}

class Walk {
  private hops = 0
  /** Names of the directories from the root down to `fd` (confined walks: `..` re-walks them). */
  private names: Name[] = []
  readonly created: Created[] = []
  private readonly rootParts: string[]
  /**
   * How many of the given components are still to walk. They sit at the bottom of the stack, a
   * symlink's target on top of them, so the stack's height bounds it.
   */
  private givenLeft = 0
  private given = 0

  constructor(
    private readonly root: string | HeldRoot,
    private readonly confined: boolean,
    private fd: number,
    private readonly opts: WalkOptions,
    private readonly above: number,
  ) {
    this.rootParts = (typeof root === 'string' ? root : root.path).split('/').filter(Boolean)
  }

  run(components: readonly Name[]) {
    const todo = [...components].reverse()
    this.given = this.givenLeft = todo.length
    try {
      for (;;) {
        const c = todo.pop()
        this.givenLeft = Math.min(this.givenLeft, todo.length)
        if (c === undefined) return this.result('.')
        if (c === '' || c === '.') continue
        if (c === '..') {
          this.up()
          continue
        }
        const last = todo.length === 0
        if (last && !this.opts.follow && !this.opts.mkdirLeaf) return this.result(c)
        if (!last) {
          const step = this.descend(c)
          if (typeof step !== 'boolean') this.splice(step, todo)
          else if (!step) todo.push(c)
          continue
        }
        const link = readlinkAt(this.fd, c)
        if (link !== undefined) {
          this.splice(link, todo)
          continue
        }
        if (this.opts.mkdirLeaf) this.makeDir(c)
        return this.result(c)
      }
    } catch (err) {
      this.fail()
      throw err
    }
  }

  private result(name: Name) {
    return { dir: this.fd, name, created: this.created }
  }

  /**
   * Opens `c` as the next directory (true). A symlink there gives its target to resolve; a
   * missing one, with `mkdirs`, is created and looked at again (false).
   */
  private descend(c: Name): boolean | Name {
    let next: number
    try {
      next = openSync(procPath(this.fd, c), DIR_FLAGS)
    } catch (err) {
      const code = codeOf(err)
      // O_NOFOLLOW | O_DIRECTORY on a symlink (dangling or not) is ENOTDIR, as on a file.
      const link = code === 'ENOTDIR' ? readlinkAt(this.fd, c) : undefined
      if (link !== undefined) return link
      if (code !== 'ENOENT' || !this.opts.mkdirs) throw this.failedHere(err)
      this.makeDir(c)
      this.hop()
      return false
    }
    this.moveTo(next)
    this.names.push(c)
    return true
  }

  private makeDir(c: Name): void {
    try {
      mkdirSync(procPath(this.fd, c), 0o777)
      if (this.opts.track) {
        const key = madeInFlight(lstatSync(procPath(this.fd, c)))
        this.created.push({ dir: this.fd, name: c, key })
      }
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw this.failedHere(err)
    }
  }

  /** Notes where the walk stood in the request's path when `err` came (see failedDepth). */
  private failedHere(err: unknown): unknown {
    if (typeof err === 'object' && err !== null) failures.set(err, this.above + this.given - this.givenLeft)
    return err
  }

  private up(): void {
    if (!this.confined) {
      this.moveTo(openSync(procPath(this.fd, '..'), O_PATH | O_DIRECTORY))
      return
    }
    if (!this.names.length) throw new OutsideRoot()
    const names = this.names.slice(0, -1)
    this.restart()
    for (const name of names) {
      try {
        this.moveTo(openSync(procPath(this.fd, name), DIR_FLAGS))
      } catch {
        throw new PathChanged()
      }
      this.names.push(name)
    }
  }

  private splice(link: Name, todo: Name[]): void {
    this.hop()
    const parts = typeof link === 'string' ? link.split('/') : splitBytes(link)
    if (parts[0] === '') {
      const abs = parts.filter(p => p && p !== '.')
      if (!this.rootParts.every((p, i) => abs[i] === p)) throw new OutsideRoot()
      this.restart()
      todo.push(...abs.slice(this.rootParts.length).reverse())
    } else {
      todo.push(...parts.reverse())
    }
  }

  private hop(): void {
    if (++this.hops > MAX_HOPS) throw errno('ELOOP', 'too many levels of symbolic links')
  }

  private restart(): void {
    this.moveTo(typeof this.root === 'string' ? openDirectory(this.root) : this.root.open())
    this.names = []
  }

  /** Holds `next` instead of the current directory, which stays open only if something was created in it. */
  private moveTo(next: number): void {
    if (!this.created.some(c => c.dir === this.fd)) closeQuietly(this.fd)
    this.fd = next
  }

  private fail(): void {
    const held = new Anchor(this.fd, '.', '', '', this.created)
    held.undoCreated()
    held.close()
  }
}

/** The target of `name` if it is a symlink (as bytes unless UTF-8); undefined if it is something else or nothing. */
function readlinkAt(fd: number, name: Name): Name | undefined {
  try {
    return asName(readlinkSync(procPath(fd, name), { encoding: 'buffer' }))
  } catch (err) {
    const code = codeOf(err)
    if (code === 'EINVAL' || code === 'ENOENT') return undefined
    throw err
  }
}
