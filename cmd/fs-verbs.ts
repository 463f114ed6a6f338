/**
 * The verbs of `execd fs`: one table, OPS, declares every operation — its arguments, options,
 * help and action — over FsOps (fs-ops.ts), which is this machine or a daemon alike. fs.ts makes
 * the table a cac program and runs the operation typed.
 *
 * Output convention (README, "Command line"): queries (ls, stat, search, cat) print their
 * answer; changes (get, put, rm, rmdir, mv, mkdir, chmod, replace) are silent on success like
 * their Unix namesakes, one line each with -v; with --json every operation prints one JSON
 * document. Times are UTC, to the second, in RFC 3339 (`2026-01-31T12:00:00Z`).
 */
import { open } from 'node:fs/promises'
import { ExecdError } from '../core/errors'
import { compileGlob } from '../plugins/files/contract'
import { MAX_ID, checkedId } from '../core/owner-names'
import { UsageError, typedCheck } from './errors'
import { statEach } from './fs-outcomes'
import type { FsOps, Permission, RawPath } from './fs-ops'
import { describe } from './fs-print'
import { LS_DEPTH, listingDepth, printListing } from './fs-listing'
import { wholeHelp } from './whole-option'
import { CAT_LIMIT, CAT_OFFSET, abortable, copyOut, localName, untilAborted } from './fs-transfer'
import { progress, showProgress } from './progress'

export type Flags = Record<string, unknown>

export interface Run {
  fs: FsOps
  /** Aborted by SIGTERM, SIGINT or SIGHUP: a transfer stops and discards what it staged. */
  signal: AbortSignal
  /** A path typed as bytes that are not UTF-8 is those bytes (raw-argv.ts); the rest is text. */
  args: RawPath[]
  /** Argument i, which cac has checked is there (a usage error otherwise). */
  arg(i: number): RawPath
  flags: Flags
  json: boolean
  /** The JSON document with --json, else the text for people (nothing when empty). */
  print(value: unknown, human: string): void
  /** A change done: its JSON with --json, its lines with -v (each one line, escaped), else nothing. */
  done(value: unknown, lines: string[]): void
}

export interface FsOp {
  name: string
  /** cac's argument syntax: `<path> [dest]`, `<...path>`. */
  args: string
  summary: string
  options?: [string, string][]
  examples?: string[]
  /** Returns the exit code (0 when nothing is returned). */
  run(r: Run): Promise<number | void>
}

/** What rm, rmdir and mkdir report: their paths under `word` (--json), or `<word> <path>` a line (-v). */
const pathsDone = (r: Run, word: 'removed' | 'created') =>
  r.done(
    { [word]: r.args },
    r.args.map(p => `${word} ${p}`),
  )

const OWNER_OPTIONS: [string, string][] = [
  ['--owner <user>', 'owner to set'],
  ['--group <group>', 'group to set'],
]

/**
 * A name that is not UTF-8 prints as `\xHH` (as the wire's `path` shows it); typed back as
 * that text it names another file, so ls and search say how to type its bytes.
 */
const BYTES_EXAMPLE = "execd fs rm $'b\\xff.t'  # printed b\\xff.t: type its bytes, as bash's $'…'"

/** Every `execd fs` operation, the one place they are listed. */
export const OPS: FsOp[] = [
  {
    name: 'ls',
    args: '[path]',
    summary: 'list a directory (default: the current one)',
    options: [wholeHelp(LS_DEPTH, 'levels to descend', 1)],
    examples: [BYTES_EXAMPLE],
    run: r => printListing(r.fs.list(r.args[0] ?? '.', listingDepth(r.flags.depth), r.signal), r.json, r.signal),
  },
  {
    name: 'stat',
    args: '<...path>',
    summary: 'describe each path (symlinks not followed)',
    async run(r) {
      const { infos, failed } = await statEach(r.fs, r.args)
      r.print(infos, Object.values(infos).map(describe).join('\n'))
      if (failed) throw failed
    },
  },
  {
    name: 'cat',
    args: '<path>',
    summary: 'print a file, a byte range or some lines',
    options: [
      ['--range <a-b>', 'bytes a to b (inclusive; "a-" to the end)'],
      wholeHelp(CAT_OFFSET, 'first line to print', 1),
      wholeHelp(CAT_LIMIT, 'number of lines to print', 'all'),
    ],
    examples: ['execd fs cat log.txt --offset 100 --limit 20'],
    run: r => copyOut(r, '-', 'cat'),
  },
  {
    name: 'get',
    args: '<path> [dest]',
    summary: 'copy a file here (dest: a file, a directory, or - for stdout; default: its name)',
    options: [['--range <a-b>', 'only bytes a to b']],
    run: r => copyOut(r, r.args[1] ?? localName(r.arg(0))),
  },
  {
    name: 'put',
    args: '<src> <dest>',
    summary: 'write a file atomically from a local file or stdin (-)',
    options: [['-m, --mode <mode>', 'permissions in octal (default 644)'], ...OWNER_OPTIONS],
    async run(r) {
      const [src, dest] = r.args as [RawPath, RawPath]
      const perm = permission(r.flags)
      // Opened first: a missing source is a plain error before anything is sent or staged.
      const opening = src === '-' ? undefined : open(typeof src === 'string' ? src : src.bytes, 'r')
      const file = opening && (await untilAborted(opening, r.signal, late => late.close()))
      try {
        const stat = await file?.stat()
        // A directory opens, then fails its first read with no path: said here, as typed (the thing
        // is wrong, not the typing: exit 1, as cat says it).
        if (stat?.isDirectory()) throw new ExecdError('INVALID_REQUEST_BODY', `${src}: is a directory`)
        const total = stat?.size
        const shown = progress(`put ${dest}`, total, showProgress(r.json))
        const source = (file ? file.createReadStream() : process.stdin) as AsyncIterable<Uint8Array>
        try {
          const written = await r.fs.write(dest, perm, shown.track(abortable(source, r.signal)))
          shown.done()
          r.done(written, [`${written.path}: ${written.bytes} bytes written`])
        } finally {
          shown.done()
        }
      } finally {
        await file?.close()
      }
    },
  },
  {
    name: 'rm',
    args: '<...path>',
    summary: 'delete files and symlinks (never a directory)',
    async run(r) {
      // The wire's DELETE /files is done when the path is not there: a name mistyped exited 0,
      // and -v said `removed nope`. Asked first, as rmdir does: a missing path is rm's and rmdir's `file not found`.
      const infos = await r.fs.stat(r.args)
      // The wire's words (`error removing file d. path is a directory: d`) came after any file
      // named before it was gone, and named no way to delete one.
      for (const path of r.args)
        if (infos[String(path)]?.type === 'directory')
          throw new ExecdError('INVALID_REQUEST_BODY', `${path}: is a directory (execd fs rmdir deletes directories)`)
      await r.fs.remove(r.args)
      pathsDone(r, 'removed')
    },
  },
  {
    name: 'rmdir',
    args: '<...path>',
    summary: 'delete empty directories; with -r, directories and everything in them (never a file)',
    options: [['-r, --recursive', 'delete what the directories hold too']],
    async run(r) {
      // Checked here: the wire's DELETE /directories removes a file too, and a tree whole. The
      // codes (--json) are the wire's for a path of the wrong kind, as `fs ls` of a file says.
      const infos = await r.fs.stat(r.args)
      for (const path of r.args) {
        if (infos[String(path)]?.type !== 'directory')
          throw new ExecdError('INVALID_REQUEST_BODY', `${path}: not a directory`)
        if (r.flags.recursive) continue
        for await (const batch of r.fs.list(path, 1))
          if (batch.length)
            throw new ExecdError('INVALID_REQUEST_BODY', `${path}: directory not empty (-r deletes it all)`)
      }
      await r.fs.removeDirectories(r.args)
      pathsDone(r, 'removed')
    },
  },
  {
    name: 'mv',
    args: '<src> <dest>',
    summary: 'move or rename (creates parents, never overwrites)',
    async run(r) {
      const [src, dest] = r.args as [RawPath, RawPath]
      await r.fs.move(src, dest, r.signal)
      r.done({ src, dest }, [`${src} -> ${dest}`])
    },
  },
  {
    name: 'mkdir',
    args: '<...path>',
    summary: 'make directories and their parents',
    options: [['-m, --mode <mode>', 'permissions in octal (default 755)'], ...OWNER_OPTIONS],
    async run(r) {
      const perm = permission(r.flags)
      await r.fs.mkdir(r.args, perm)
      pathsDone(r, 'created')
    },
  },
  {
    name: 'chmod',
    args: '<mode> <...path>',
    summary: 'set the permissions (and owner/group) of each path',
    options: OWNER_OPTIONS,
    examples: ['execd fs chmod 640 secret.txt --owner root'],
    async run(r) {
      const [mode, ...paths] = r.args as [string, ...RawPath[]]
      const perm = { ...permission(r.flags), mode: octal(mode) }
      await r.fs.chmod(paths, perm)
      r.done(
        { changed: paths, mode: perm.mode },
        paths.map(p => `${p}: mode ${mode}`),
      )
    },
  },
  {
    name: 'search',
    args: '<dir> [pattern]',
    summary: 'find files by glob (default **); a pattern without / matches base names',
    examples: ["execd fs search . '*.py'", BYTES_EXAMPLE],
    run(r) {
      // A pattern that cannot be read is the person's (2); the daemon would refuse it the same.
      const pattern = r.args[1] === undefined ? undefined : String(r.args[1])
      if (pattern !== undefined) typedCheck(() => compileGlob(pattern))
      return printListing(r.fs.search(r.arg(0), pattern, r.signal), r.json, r.signal)
    },
  },
  {
    name: 'replace',
    args: '<path> <old> <new>',
    summary: 'replace text in a file (atomic rewrite)',
    async run(r) {
      const [path, old, replacement] = r.args as [RawPath, string, string]
      if (old === '') throw new UsageError('old content must not be empty', 'INVALID_REQUEST_BODY')
      const replaced = await r.fs.replace(path, old, replacement, r.signal)
      r.done({ path, replaced }, [`${path}: ${replaced} replaced`])
    },
  },
]

/** An octal mode as typed (`644`, `0755`); anything else is a usage error. */
function octal(raw: unknown): number {
  // cac reads `0644` as the number 644: the digits are what matter.
  const text = String(raw).replace(/^0+(?=\d)/, '')
  if (!/^[0-7]{1,4}$/.test(text)) throw new UsageError(`invalid mode '${raw}': octal digits expected (e.g. 755 or 644)`)
  return Number(text)
}

function permission(flags: Flags): Permission {
  // An id out of range is typed wrong (2), whoever answers; a name not there is the machine's (1).
  for (const kind of ['owner', 'group'] as const) {
    if (flags[kind] === undefined) continue
    const id = String(flags[kind])
    if (/^\d+$/.test(id)) typedCheck(() => checkedId(kind === 'owner' ? 'user' : 'group', id))
    // ` 5` was asked for as a name (`unknown user:  5`, exit 1), an empty one not at all: no
    // account's name is empty or holds white space (useradd refuses both), so it is a typo.
    else if (id === '' || /\s/.test(id))
      throw new UsageError(
        `--${kind} expects a ${kind === 'owner' ? 'user' : 'group'} name or an id from 0 to ${MAX_ID}, got '${id}' (no name is empty or holds a space)`,
        'INVALID_REQUEST_BODY',
      )
  }
  return {
    ...(flags.mode === undefined ? {} : { mode: octal(flags.mode) }),
    ...(flags.owner === undefined ? {} : { owner: String(flags.owner) }),
    ...(flags.group === undefined ? {} : { group: String(flags.group) }),
  }
}
