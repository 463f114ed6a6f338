/**
 * `GET /files/search`: glob under a directory. A pattern without `/` matches base names (the
 * reference's behaviour, which clients rely on); with `/` it matches the path relative to the
 * search root. Directories are walked but not returned; unreadable ones are skipped. Matching
 * is linear in the name (../glob.ts) and the walk is bounded (./walk.ts).
 */
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { nextTurn } from '../../../core/timers'
import { fsError } from '../errors'
import { compileGlob as compile, GlobCostError, GlobSyntaxError } from '../glob'
import type { PathScope, RawPath } from '../paths'
import { walkedInfo, type WalkedInfo } from './list'
import { WALK_LIMITS, startAt, tooManyEntries, walk, type WalkLimits } from './walk'

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

/** The directory is resolved beneath the root, a final symlink followed there; the walk goes by descriptor. */
export async function searchFiles(
  scope: PathScope,
  raw: RawPath,
  pattern = '**',
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  const glob = pattern || '**'
  const { match: isMatch, tired } = compileGlob(glob)
  const byPath = glob.includes('/')
  let step = 'stat'
  try {
    return await scope.with(raw, { follow: true }, async anchor => {
      const start = await startAt(anchor)
      if (!start) {
        if ((await lstat(anchor.at)).isDirectory()) throw badRequest(`path changed while it was being resolved: ${raw}`)
        throw badRequest(`error searching files. path is not a directory: ${raw}`)
      }
      step = 'open'
      const out: WalkedInfo[] = []
      for await (const entry of walk(start, Number.POSITIVE_INFINITY, () => {}, limits, 'search')) {
        if (entry.isDirectory) continue
        const matched = isMatch(byPath ? entry.relative : entry.name)
        if (tired()) await nextTurn()
        if (!matched) continue
        const info = await walkedInfo(entry)
        if (!info) continue
        if (out.length >= limits.maxEntries) throw tooManyEntries('search', limits.maxEntries)
        out.push(info)
      }
      return out
    })
  } catch (err) {
    throw fsError(err, step, raw, 'error searching files. ')
  }
}
