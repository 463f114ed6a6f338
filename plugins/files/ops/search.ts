/**
 * `GET /files/search`: glob under a directory. A pattern without `/` matches base names (the
 * reference's behaviour, which clients rely on); with `/` it matches the path relative to the
 * search root. Directories are walked but not returned; unreadable ones are skipped. Matching
 * is linear in the name (../glob.ts) and the walk is bounded (./walk.ts).
 */
import { stat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { fsError } from '../errors'
import { compileGlob as compile, GlobSyntaxError } from '../glob'
import type { PathScope } from '../paths'
import { walkedInfo, type WalkedInfo } from './list'
import { WALK_LIMITS, tooManyEntries, walk, type WalkLimits } from './walk'

/** Compiles a glob (`**`, `*`, `?`, `[...]`, `[!...]`, `{a,b}`, `\` escapes); bad syntax → 400. */
export function compileGlob(pattern: string): (path: string) => boolean {
  try {
    const glob = compile(pattern)
    return text => glob.match(text)
  } catch (err) {
    if (!(err instanceof GlobSyntaxError)) throw err
    throw badRequest(`error searching files. invalid pattern ${pattern}: ${err.message}`)
  }
}

export async function searchFiles(
  scope: PathScope,
  raw: string,
  pattern = '**',
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  const glob = pattern || '**'
  const isMatch = compileGlob(glob)
  const byPath = glob.includes('/')
  const { path, target } = scope.resolve(raw, { follow: true })
  const s = await stat(target).catch(err => {
    throw fsError(err, 'stat', path, 'error searching files. ')
  })
  if (!s.isDirectory()) throw badRequest(`error searching files. path is not a directory: ${path}`)
  const out: WalkedInfo[] = []
  try {
    for await (const entry of walk(path, target, Number.POSITIVE_INFINITY, () => {}, limits, 'search')) {
      if (entry.isDirectory) continue
      if (!isMatch(byPath ? entry.relative : entry.name)) continue
      const info = await walkedInfo(entry)
      if (!info) continue
      if (out.length >= limits.maxEntries) throw tooManyEntries('search', limits.maxEntries)
      out.push(info)
    }
  } catch (err) {
    throw fsError(err, 'open', path, 'error searching files. ')
  }
  return out
}
