/**
 * `fs ls --depth N` and `fs search` with --url, a directory at a time: the daemon answers a
 * listing or a search only once its whole walk is over (every error before the first entry, the
 * contract says), so `fs ls -d 50 / | head -1` waited for a 100,000-entry walk and then exited
 * 1 with the cap. Asked a directory (or, for a search, a subtree) per request, the first lines
 * come at once, in the order one request gives them (depth-first, sorted by name), and there is
 * no cap on the whole, as here (`execd fs ls` without --url): a person asked for all of it, and a
 * closed pipe stops it. The wire is the contract's: `depth=1` listings and searches.
 */
import { compileGlob } from '../plugins/files/contract'
import { ExecdError, type ErrorCode } from '../core/errors'
import type { FileInfo, RawPath } from './fs-ops'
import { named } from './path-fields'

/** A path as the daemon named it: its exact bytes when they are not UTF-8. */
export type Where = { path: string } | { path_base64: string }
type Listing = (where: Where, depth: number) => AsyncIterable<FileInfo[]>
type Search = (where: Where, pattern: string) => AsyncIterable<FileInfo[]>

const whereOf = (info: FileInfo): Where => (info.path_base64 ? { path_base64: info.path_base64 } : { path: info.path })

/**
 * What the daemon's own walk skips below its start (a directory gone, unreadable, or replaced
 * by a file or a symlink since it was listed), skipped here too; any other failure ends the walk.
 */
const SKIPPED: ReadonlySet<ErrorCode> = new Set(['FILE_NOT_FOUND', 'FORBIDDEN', 'INVALID_REQUEST_BODY'])
const skipped = (err: unknown) => err instanceof ExecdError && SKIPPED.has(err.code)
/** A subtree's search too big for one answer, or for its time budget: asked in smaller parts. */
const tooBig = (err: unknown) =>
  err instanceof ExecdError && (err.code === 'PAYLOAD_TOO_LARGE' || err.code === 'SERVICE_UNAVAILABLE')

/** The entries of one directory, whole (one request: the daemon's cap bounds it). */
async function entriesOf(list: Listing, where: Where): Promise<FileInfo[]> {
  const all: FileInfo[] = []
  for await (const batch of list(where, 1)) all.push(...batch)
  return all
}

/** A listing `depth` levels deep, a directory per request, in the daemon's order. */
export async function* listByDirectory(list: Listing, root: RawPath, depth: number): AsyncGenerator<FileInfo[]> {
  if (depth <= 1) return yield* list(named(root), depth)
  yield* descend(list, await entriesOf(list, named(root)), depth - 1)
}

async function* descend(list: Listing, entries: FileInfo[], levels: number): AsyncGenerator<FileInfo[]> {
  let run: FileInfo[] = []
  for (const entry of entries) {
    run.push(entry)
    if (entry.type !== 'directory' || levels < 1) continue
    yield run
    run = []
    const below = await entriesOf(list, whereOf(entry)).catch(err => {
      if (skipped(err)) return []
      throw err
    })
    yield* descend(list, below, levels - 1)
  }
  if (run.length) yield run
}

/**
 * A search, a subtree per request: the start's own entries are matched here (the daemon's glob,
 * on the base name), each directory's subtree is searched by the daemon, and one too big for an
 * answer is split into its own entries and subtrees. A pattern with `/` matches the path from
 * the start, which a subtree's search cannot be asked: it is one request, as before; so is a
 * start the listing refuses (a symlink, which a search follows).
 */
export async function* searchByDirectory(
  list: Listing,
  search: Search,
  root: RawPath,
  pattern: string | undefined,
): AsyncGenerator<FileInfo[]> {
  const glob = pattern || '**'
  if (glob.includes('/')) return yield* search(named(root), glob)
  let top: FileInfo[]
  try {
    top = await entriesOf(list, named(root))
  } catch {
    return yield* search(named(root), glob)
  }
  yield* matchesIn(list, search, top, compileGlob(glob).match, glob)
}

async function* matchesIn(
  list: Listing,
  search: Search,
  entries: FileInfo[],
  match: (name: string) => boolean,
  glob: string,
): AsyncGenerator<FileInfo[]> {
  let run: FileInfo[] = []
  for (const entry of entries) {
    if (entry.type !== 'directory') {
      if (match(baseName(entry))) run.push(entry)
      continue
    }
    if (run.length) yield run
    run = []
    try {
      yield* search(whereOf(entry), glob)
    } catch (err) {
      // Every error of a search comes before its first entry: nothing of it was printed.
      if (skipped(err)) continue
      if (!tooBig(err)) throw err
      const below = await entriesOf(list, whereOf(entry)).catch(e => {
        if (skipped(e)) return []
        throw e
      })
      yield* matchesIn(list, search, below, match, glob)
    }
  }
  if (run.length) yield run
}

/** The base name a daemon's glob matches: bytes that are not UTF-8 as U+FFFD. */
function baseName(info: FileInfo): string {
  const path = info.path_base64 ? new TextDecoder().decode(Buffer.from(info.path_base64, 'base64')) : info.path
  return path.slice(path.lastIndexOf('/') + 1)
}
