/**
 * Directory walking shared by list and search: byte-wise sorted, symlinks never followed, and
 * never led out of the tree by a directory swapped for a symlink mid-walk. Each directory is
 * opened `O_NOFOLLOW | O_DIRECTORY` relative to its parent's descriptor (through
 * `/proc/self/fd/<fd>/<name>`) and read and stat'ed through its own, so a path string is
 * never resolved again once the walk started. Names are bytes (core/beneath/names.ts says how they are
 * reported). Bounded: a few descriptors open at once, a time budget, and a pause for the event
 * loop every few hundred entries.
 */
import { awakeNow } from '../../../core/awake-clock'
import { ExecdError } from '../../../core/errors'
import { PERIODS } from '../../../core/periods'
import { nextTurn } from '../../../core/timers'
import type { Anchor, Name } from '../../../core/beneath/walk'
import { statAt, type EntryStat } from '../stat-at'
import { openSubdirectory } from '../../../core/beneath/tree'
import { decodeName } from '../../../core/beneath/names'
import { readDirNames, type DirNames } from './dir-names'
import { DirectoryFds, openDirectoryAt, PAUSE_EVERY, type Frame, type Held } from '../../../core/beneath/walk-fds'

/** How long one list or search may walk, and how many entries it may answer. */
export interface WalkLimits {
  timeBudgetMs: number
  maxEntries: number
  /**
   * The client went away: the walk stops. A search or listing answers only once its walk is
   * over, and a client that left went on costing the walk's whole time budget (20 searches of
   * `/` left after half a second: 17.7 s of execd's CPU in the 30 s after).
   */
  signal?: AbortSignal
}

/** The documented defaults (README, Files). */
export const WALK_LIMITS: WalkLimits = { timeBudgetMs: PERIODS.walk, maxEntries: PERIODS.entries }

export interface WalkEntry {
  /** Path under the reported (caller-named) directory; stray bytes as `\xHH`. */
  path: string
  /** The exact bytes of `path`. */
  bytes: Buffer
  /** Whether `bytes` are valid UTF-8 (else `path` is escaped and `path_base64` is due). */
  valid: boolean
  /** Base name with stray bytes as U+FFFD: what a glob matches. */
  name: string
  /** Path relative to the walk's start, `/`-separated, stray bytes as U+FFFD. */
  relative: string
  isDirectory: boolean
  level: number
  /** lstat through the parent directory's descriptor. */
  stat(): Promise<EntryStat>
}

/** The limit errors: what was found is not answered, the error says which bound it hit. */
export const tooManyEntries = (what: string, max: number) =>
  new ExecdError('PAYLOAD_TOO_LARGE', `${what} stopped: more than ${max} entries; narrow the path or pattern`)

/** Where a walk starts: a directory opened for reading (the walk owns it) and how it is reported. */
export interface WalkStart {
  handle: Held
  /** The reported path (stray bytes as `\xHH`), its exact bytes, and whether they are UTF-8. */
  path: string
  bytes: Buffer
  valid: boolean
  /** The one entry of the directory the walk yields, and no other: a search rooted at a file. */
  only?: Name
}

/**
 * Opens the directory `anchor` resolved to, for a walk: no path string is resolved again.
 * Undefined if it is not a directory (a symlink included: it is not followed) or is gone.
 */
export async function startAt(anchor: Anchor): Promise<WalkStart | undefined> {
  const handle = await openSubdirectory(anchor.dir, anchor.name)
  if (!handle) return undefined
  return { handle, path: anchor.path, bytes: anchor.bytes ?? Buffer.from(anchor.path), valid: !anchor.bytes }
}

/**
 * A walk of the file `anchor` resolved to, as the reference's walk of a file visits the file
 * alone: its directory opened for reading, reported under the file's path's parent, and the
 * file its one entry. Undefined if it is gone.
 */
export async function fileStartAt(anchor: Anchor): Promise<WalkStart | undefined> {
  const handle = await openSubdirectory(anchor.dir, '.')
  if (!handle) return undefined
  const bytes = anchor.bytes ?? Buffer.from(anchor.path)
  return {
    handle,
    path: anchor.path.slice(0, anchor.path.lastIndexOf('/')),
    bytes: bytes.subarray(0, bytes.lastIndexOf(0x2f)),
    valid: !anchor.bytes,
    only: anchor.name,
  }
}

/**
 * Depth-first pre-order walk of the directory `start` holds. Real directories are descended
 * while `level + 1 < depth`; one that cannot be opened or read, or was replaced during the
 * walk, is reported through `onError` and skipped. The start is never looked up by name.
 * Given `kept`, the walk's descriptors are the caller's: the start stays open in it, so the
 * entries' `stat()` still works after the walk (reopening their directories), and the caller
 * closes it.
 */
export async function* walk(
  start: WalkStart,
  depth: number,
  onError: (dir: string, err: unknown) => void,
  limits: WalkLimits = WALK_LIMITS,
  what = 'walk',
  kept?: DirectoryFds,
): AsyncGenerator<WalkEntry> {
  // On the awake clock: the budget bounds execd's own work, which a stop of execd is not.
  const deadline = awakeNow() + limits.timeBudgetMs
  const fds = kept ?? new DirectoryFds()
  try {
    const { handle, ...reported } = start
    const { only, ...init } = reported
    const root = await fds.adopt(handle, { name: Buffer.alloc(0), ...init })
    if (only !== undefined) return void (yield new Walked(fds, root, only, '', false, 0))
    const stack = [{ frame: root, relative: '', names: await readDirNames(handle.fd), index: 0 }]
    let seen = 0
    while (stack.length) {
      const top = stack.at(-1)!
      if (top.index >= top.names.count) {
        if (!kept || top.frame !== root) await fds.release(top.frame)
        stack.pop()
        continue
      }
      if (awakeNow() >= deadline) {
        throw new ExecdError('SERVICE_UNAVAILABLE', `${what} stopped after ${limits.timeBudgetMs} ms (its time budget)`)
      }
      if (limits.signal?.aborted) throw new ExecdError('RUNTIME_ERROR', `${what} stopped: the client went away`)
      if (++seen % PAUSE_EVERY === 0) await nextTurn()
      const frame = top.frame
      const listed = top.names.name(top.index)
      let isDirectory = top.names.isDirectory(top.index++)
      try {
        isDirectory ??= (statAt(await fds.fdOf(frame), listed).mode & S_IFMT) === S_IFDIR
      } catch (err) {
        // Gone since the directory was read, or the directory itself was replaced.
        onError(frame.path, err)
        continue
      }
      const entry = new Walked(fds, frame, listed, top.relative, isDirectory, stack.length - 1)
      yield entry
      if (!isDirectory || stack.length >= depth) continue
      try {
        // Its bytes only now: a Buffer made for each entry walked was 6% of a listing's CPU.
        const name = bytesOf(listed)
        const child = openDirectoryAt(await fds.childPath(frame, name))
        const childFrame = await fds.adopt(
          child,
          { name, bytes: entry.bytes, path: entry.path, valid: entry.valid },
          frame,
        )
        stack.push({
          frame: childFrame,
          relative: entry.relative,
          names: await readDirNamesOr(fds, childFrame),
          index: 0,
        })
      } catch (err) {
        onError(entry.path, err)
      }
    }
  } finally {
    if (!kept) await fds.closeAll()
  }
}

/**
 * An entry as the walk found it: its directory's frame and its listed name, the rest made when
 * asked for. A listing keeps every entry until it is answered, so each holds no more than
 * that: with its paths, bytes and a closure apiece, 99,000 entries held about 140 MB.
 */
class Walked implements WalkEntry {
  constructor(
    private readonly fds: DirectoryFds,
    private readonly frame: Frame,
    /** As listed: text when it is the name's exact UTF-8. */
    private readonly listed: Buffer | string,
    private readonly parentRelative: string,
    readonly isDirectory: boolean,
    readonly level: number,
  ) {}

  private get decoded(): { escaped: string; lossy: string; valid: boolean } {
    const listed = this.listed
    return typeof listed === 'string' ? { escaped: listed, lossy: listed, valid: true } : decodeName(listed)
  }

  // Beneath `/` an entry is `/name`, as Go's filepath.Join says it (0x2f: `/`): a walk of / listed `//name`.
  get path(): string {
    return `${this.frame.path === '/' ? '' : this.frame.path}/${this.decoded.escaped}`
  }

  get bytes(): Buffer {
    const under = this.frame.bytes.length === 1 && this.frame.bytes[0] === 0x2f ? [] : [this.frame.bytes]
    return Buffer.concat([...under, Buffer.from('/'), bytesOf(this.listed)])
  }

  get valid(): boolean {
    return this.frame.valid && this.decoded.valid
  }

  get name(): string {
    return this.decoded.lossy
  }

  get relative(): string {
    return this.parentRelative ? `${this.parentRelative}/${this.decoded.lossy}` : this.decoded.lossy
  }

  async stat(): Promise<EntryStat> {
    return statAt(await this.fds.fdOf(this.frame), this.listed)
  }
}

async function readDirNamesOr(fds: DirectoryFds, frame: Frame): Promise<DirNames> {
  try {
    return await readDirNames(await fds.fdOf(frame))
  } catch (err) {
    await fds.release(frame)
    throw err
  }
}

const S_IFMT = 0o170000
const S_IFDIR = 0o040000

/** A listed name's bytes: made when the walk comes to it, not for the whole directory at once. */
const bytesOf = (name: Buffer | string): Buffer => (typeof name === 'string' ? Buffer.from(name) : name)
