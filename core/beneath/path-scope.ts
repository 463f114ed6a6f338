/**
 * Path handling for every route of the files section: `$VAR`/`${VAR}` and `~` expansion as the
 * reference does it, then resolution against the working directory, then (with `--root`)
 * confinement: `anchor` walks the path beneath the root's descriptor (./walk.ts), so what is
 * checked is what is used. Messages name the path as the client wrote it, never the expansion.
 * A path may also come as its exact bytes (`path_base64`, a `BytePath`): a name that is not
 * UTF-8 can be sent back as it was listed.
 */
import { existsSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { ExecdError, badRequest } from '../errors'
import { ownCwd } from '../own-cwd'
import { expandHome, expandVariables, realRoot } from '../workdir'
import {
  Anchor,
  OutsideRoot,
  PathChanged,
  failedDepth,
  openDirectory,
  splitBytes,
  walkBeneath,
  type Name,
  type WalkOptions,
} from './walk'
import { decodeName } from './names'

/**
 * `$NAME`, `${NAME}`, `~` and `~/…` (not `~user`): the same rules as working directories (an
 * undefined variable is a 400); a files path expands its variables first, then `~`.
 */
export { expandHome, expandVariables }

/**
 * A path sent as its exact bytes: taken literally (no `$VAR` or `~` expansion). It prints as
 * its `\xHH`-escaped text (./names.ts), so messages and keys show it as a listing would.
 */
export class BytePath {
  constructor(readonly bytes: Buffer) {}

  toString(): string {
    return decodeName(this.bytes).escaped
  }
}

/**
 * The exact bytes of a path sent as standard base64 (`path_base64` and its kin). A space is
 * read as `+`: a query string decodes an unescaped `+` to a space, and base64 has no spaces.
 */
export function bytePathOf(base64: string, field = 'path_base64'): BytePath {
  const text = base64.replaceAll(' ', '+')
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw badRequest(`invalid ${field}: not standard base64 (A-Z a-z 0-9 + /, = padded)`)
  }
  return new BytePath(Buffer.from(text, 'base64'))
}

/** A request path: text as the client wrote it, or exact bytes. */
export type RawPath = string | BytePath

/**
 * The path a JSON body entry names: its own `path_base64` field when it has one (the key is
 * then only a label), else its key.
 */
export const entryPath = (key: string, entry: { path_base64?: string }): RawPath =>
  entry.path_base64 === undefined ? key : bytePathOf(entry.path_base64, `path_base64 of ${key}`)

/** A normalised absolute path: its components, what answers report, and its bytes if not UTF-8. */
interface Located {
  parts: Name[]
  path: string
  bytes?: Buffer
}

/**
 * Confines paths to a root directory when one is configured. Relative paths resolve against
 * the root (or the working directory when there is none).
 */
export class PathScope {
  readonly root?: string
  private readonly base: string
  private readonly rootParts: string[] = []

  constructor(root?: string, cwd = ownCwd()) {
    if (root) {
      this.root = realRoot(root, cwd)
      this.rootParts = componentsOf(this.root)
    }
    if (!existsSync('/proc/self/fd')) {
      throw new ExecdError('RUNTIME_ERROR', 'the files section needs /proc (mounted) to resolve paths safely')
    }
    this.base = this.root ?? cwd
  }

  /**
   * Expands a request path and normalises it against the base, checking it names something
   * inside the root: what can be refused without touching the filesystem, so a request can be
   * validated whole before anything changes. Returns the path answers report.
   */
  normalise(raw: RawPath): string {
    return this.locate(raw).path
  }

  private locate(raw: RawPath): Located {
    const located = typeof raw === 'string' ? this.locateText(raw) : this.locateBytes(raw.bytes)
    if (!this.rootParts.every((p, i) => located.parts[i] === p)) {
      throw badRequest(`path is outside the root ${this.root}: ${raw}`)
    }
    return located
  }

  private locateText(raw: string): Located {
    if (raw === '') throw badRequest('invalid path: empty (use "." for the working directory)')
    if (raw.includes('\0')) throw badRequest(`invalid path: contains a NUL byte`)
    // A lone surrogate (JSON lets one through) became U+FFFD on its way to the kernel: another
    // name than the one sent, and "a\ud800" and "a\udc00" one file.
    if (!raw.isWellFormed()) {
      throw badRequest('invalid path: not valid Unicode (a lone surrogate); send the exact bytes as path_base64')
    }
    const expanded = expandHome(expandVariables(raw))
    if (expanded === '') throw badRequest(`invalid path: ${raw} is empty once expanded`)
    const path = resolve(this.base, expanded)
    return { parts: componentsOf(path), path }
  }

  /** As `resolve` does on text: `.` and empty components dropped, `..` removes the one before. */
  private locateBytes(bytes: Buffer): Located {
    if (bytes.length === 0) throw badRequest('invalid path: empty (use "." for the working directory)')
    if (bytes.includes(0)) throw badRequest(`invalid path: contains a NUL byte`)
    const parts: Name[] = bytes[0] === 0x2f ? [] : componentsOf(this.base)
    for (const c of splitBytes(bytes)) {
      if (c === '..') parts.pop()
      else if (c !== '' && c !== '.') parts.push(c)
    }
    if (parts.every(p => typeof p === 'string')) return { parts, path: sep + parts.join(sep) }
    const joined = Buffer.concat(parts.flatMap(p => [Buffer.from(sep), Buffer.from(p)]))
    return { parts, path: decodeName(joined).escaped, bytes: joined }
  }

  /**
   * Resolves a request path to the directory holding its entry, walked beneath the root (see
   * ./walk.ts). The caller must `close()` the anchor. `follow`: a final symlink is resolved too;
   * `mkdirs`/`mkdirLeaf`: missing directories are created on the way / as the entry.
   */
  anchor(raw: RawPath, opts: WalkOptions = {}): Anchor {
    const { parts, path, bytes } = this.locate(raw)
    let walked
    try {
      walked = this.root ? this.walkConfined(parts, opts) : this.walkOpen(parts, opts)
    } catch (err) {
      if (err instanceof OutsideRoot) throw badRequest(`path is outside the root ${this.root}: ${raw}`)
      if (err instanceof PathChanged) throw badRequest(`path changed while it was being resolved: ${raw}`)
      throw err
    }
    return new Anchor(walked.dir, walked.name, String(raw), path, walked.created, bytes)
  }

  /** Runs `use` with the anchor of `raw`, closing it after, whatever happens. */
  async with<T>(raw: RawPath, opts: WalkOptions, use: (anchor: Anchor) => Promise<T>): Promise<T> {
    const anchor = this.anchor(raw, opts)
    try {
      return await use(anchor)
    } finally {
      anchor.close()
    }
  }

  /**
   * For a message: the directory a walk with `mkdirs` could not make or enter (`mkdir /tmp/ro/sub:
   * permission denied`, as Go's MkdirAll says, not the file below it), as the client wrote it —
   * the shortest leading part of `raw` that reaches it, `$VAR`s unexpanded. `raw` otherwise.
   */
  failedDirectory(err: unknown, raw: RawPath): RawPath {
    const depth = failedDepth(err)
    if (depth === undefined) return raw
    let want: string[]
    try {
      want = componentsOf(this.normalise(raw)).slice(0, depth)
    } catch {
      return raw
    }
    for (const lead of leadingParts(raw)) {
      let got: string[]
      try {
        got = componentsOf(this.normalise(lead))
      } catch {
        continue
      }
      if (got.length >= want.length && want.every((p, i) => got[i] === p)) return lead
    }
    return raw
  }

  private walkConfined(parts: Name[], opts: WalkOptions) {
    const below = parts.slice(this.rootParts.length)
    return walkBeneath(this.root!, true, openDirectory(this.root!), below, opts, this.rootParts.length)
  }

  /**
   * Without a root nothing needs confining: the parent is opened by the kernel in one call
   * (the fast path), and only the entry itself (or missing parents, or names that are not
   * UTF-8) goes through the walk.
   */
  private walkOpen(parts: Name[], opts: WalkOptions) {
    const fromTop = () => walkBeneath(sep, false, openDirectory(sep), parts, opts)
    const parent = parts.slice(0, -1)
    if (!parts.length || !parent.every(p => typeof p === 'string')) return fromTop()
    let start: number
    try {
      start = openDirectory(sep + parent.join(sep))
    } catch (err) {
      if (!opts.mkdirs) throw err
      return fromTop()
    }
    return walkBeneath(sep, false, start, parts.slice(-1), opts, parent.length)
  }
}

/** `a/b/c` → `a`, `a/b` (text or bytes), each cut before a `/`. */
function* leadingParts(raw: RawPath): Generator<RawPath> {
  const whole = typeof raw === 'string' ? Buffer.from(raw) : raw.bytes
  for (let slash = whole.indexOf(0x2f, 1); slash !== -1; slash = whole.indexOf(0x2f, slash + 1)) {
    if (whole[slash - 1] === 0x2f) continue
    const lead = whole.subarray(0, slash)
    yield typeof raw === 'string' ? lead.toString() : new BytePath(Buffer.from(lead))
  }
}

const componentsOf = (absolute: string): string[] => absolute.split(sep).filter(Boolean)
