/**
 * `GET /files/search`: glob under a directory. A pattern without `/` matches base names (the
 * reference's behaviour, which clients rely on); with `/` it matches the path relative to the
 * search root. Directories are walked but not returned; unreadable ones are skipped. Matching
 * is linear in the name (../glob.ts) and the walk is bounded (./walk.ts).
 */
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { nextTurn } from '../../../core/timers'
import { compileGlob as compile, GlobCostError, GlobSyntaxError } from '../glob'
import type { PathScope, RawPath } from '../../../core/beneath/path-scope'
import { allInfo, batchedWalk, gatheredWalk, type Listing, type WalkedInfo, type WalkPlan } from './list'
import { WALK_LIMITS, fileStartAt, startAt, walk, type WalkEntry, type WalkLimits, type WalkStart } from './walk'
import { DirectoryFds } from '../../../core/beneath/walk-fds'

/**
 * Matching work between pauses for the event loop. The walk pauses every 256 entries; a
 * pattern such as `*a` × 300 + `*b` costs 62,000 steps per 255-byte name, so 256 names held
 * the loop 0.66 s.
 */
const STEPS_PER_PAUSE = 100_000

/**
 * Compiles a glob (`**`, `*`, `?`, `[...]`, `[!...]`, `{a,b}`, `\` escapes); bad syntax → 400.
 * `tired()` says when the matching done since it last said so calls for a pause. A pattern
 * that costs too much on one name → 400, at the first such name.
 */
export function compileGlob(pattern: string): { match: (path: string) => boolean; tired: () => boolean } {
  try {
    const glob = compile(pattern)
    let paused = 0
    const tired = () => glob.steps - paused >= STEPS_PER_PAUSE && ((paused = glob.steps), true)
    const match = (text: string) => {
      try {
        return glob.match(text)
      } catch (err) {
        if (!(err instanceof GlobCostError)) throw err
        throw badRequest(`error searching files. pattern too costly ${pattern}: ${err.message}`)
      }
    }
    return { match, tired }
  } catch (err) {
    if (!(err instanceof GlobSyntaxError)) throw err
    throw badRequest(`error searching files. invalid pattern ${pattern}: ${err.message}`)
  }
}

/**
 * Where a search of `raw` starts: resolved beneath the root, a final symlink followed there. A
 * file is searched as the reference searches it (its walk visits the root alone): `[]`, or the
 * file when its name matches. It was a 400 (`path is not a directory`), which the reference never
 * answers: a client looking for `*.py` under a path it was given had to stat it first.
 */
async function searchStart(scope: PathScope, raw: RawPath): Promise<WalkStart> {
  return scope.with(raw, { follow: true }, async anchor => {
    const start = await startAt(anchor)
    if (start) return start
    const file = (await lstat(anchor.at)).isDirectory() ? undefined : await fileStartAt(anchor)
    if (file) return file
    throw badRequest(`path changed while it was being resolved: ${raw}`)
  })
}

/** The files under `start` that `glob` matches, as the walk finds them. */
async function* matches(
  start: WalkStart,
  glob: string,
  limits: WalkLimits,
  fds: DirectoryFds,
): AsyncGenerator<WalkEntry> {
  const { match: isMatch, tired } = compileGlob(glob)
  const byPath = glob.includes('/')
  for await (const entry of walk(start, Number.POSITIVE_INFINITY, () => {}, limits, 'search', fds)) {
    if (entry.isDirectory) continue
    const matched = isMatch(byPath ? entry.relative : entry.name)
    if (tired()) await nextTurn()
    if (matched) yield entry
  }
}

/**
 * The directory is resolved beneath the root, a final symlink followed there; the walk goes by
 * descriptor. It keeps the matches' names only: their FileInfos are made a batch at a time as
 * the answer is sent (a Listing, as a directory's), so the whole answer never exists at once.
 * Every error of the walk and of the pattern, and the caps, come before the first match is
 * answered. A bad pattern throws at once, before the walk is asked for (the route's wait for a
 * walk slot comes between).
 */
export function openSearch(scope: PathScope, raw: RawPath, pattern = '**'): (limits?: WalkLimits) => Promise<Listing> {
  const plan = searchPlan(scope, raw, pattern)
  return (limits = WALK_LIMITS) => gatheredWalk(plan, limits)
}

/**
 * The CLI's search (`execd fs search`): the matches' FileInfos a batch at a time as the walk
 * finds them, printed as they come; no cap on entries or time (as `listingBatches`). A stop
 * (Ctrl-C, SIGTERM) ends the walk, matches or none: it walked on to the grace's end.
 */
export async function* searchBatches(
  scope: PathScope,
  raw: RawPath,
  pattern = '**',
  signal?: AbortSignal,
): AsyncGenerator<WalkedInfo[]> {
  yield* batchedWalk(searchPlan(scope, raw, pattern), signal)
}

/** The files under `raw` whose name (or path, if it has a '/') matches `pattern`. */
function searchPlan(scope: PathScope, raw: RawPath, pattern: string): WalkPlan {
  const glob = pattern || '**'
  compileGlob(glob) // a bad pattern is a 400 before the path is looked at
  const context = 'error searching files. '
  return {
    kind: 'search',
    raw,
    context,
    first: 'stat',
    start: () => searchStart(scope, raw),
    entries: (start, limits, fds) => matches(start, glob, limits, fds),
  }
}

/** `openSearch`, its FileInfos all made at once (the CLI and the tests). */
export async function searchFiles(
  scope: PathScope,
  raw: RawPath,
  pattern = '**',
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  return allInfo(await openSearch(scope, raw, pattern)(limits))
}
