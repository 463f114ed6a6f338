/**
 * `GET /files/search`: glob under a directory. A pattern without `/` matches base names (the
 * reference's behaviour, which clients rely on); with `/` it matches the path relative to the
 * search root. Directories are walked but not returned; unreadable ones are skipped.
 */
import { stat } from 'node:fs/promises'
import picomatch from 'picomatch'
import { badRequest } from '../../../core/errors'
import { errnoOf, fsError } from '../errors'
import { fileInfo, type FileInfo } from '../fileinfo'
import type { PathScope } from '../paths'
import { walk } from './walk'

/** Compiles a glob (`**`, `*`, `?`, `[...]`, `[!...]`, `{a,b}`, `\` escapes); bad syntax → 400. */
export function compileGlob(pattern: string): (path: string) => boolean {
  try {
    // dot: `*` matches dotfiles as in the reference; posix: `[!x]` is a negated class (and
    // [[:digit:]] works). A leading `!` is a literal there, not picomatch's whole-pattern
    // negation (its nonegate option would also disable `[!x]`).
    const literalBang = pattern.startsWith('!') && !pattern.startsWith('!(')
    return picomatch(literalBang ? `\\${pattern}` : pattern, { dot: true, strictBrackets: true, posix: true })
  } catch (err) {
    throw badRequest(`error searching files. invalid pattern ${pattern}: ${(err as Error).message}`)
  }
}

export async function searchFiles(scope: PathScope, raw: string, pattern = '**'): Promise<FileInfo[]> {
  const glob = pattern || '**'
  const isMatch = compileGlob(glob)
  const byPath = glob.includes('/')
  const { path, target } = scope.resolve(raw, { follow: true })
  const s = await stat(target).catch(err => {
    throw fsError(err, 'stat', path, 'error searching files. ')
  })
  if (!s.isDirectory()) throw badRequest(`error searching files. path is not a directory: ${path}`)
  const out: FileInfo[] = []
  try {
    for await (const entry of walk(path, target, Number.POSITIVE_INFINITY, () => {})) {
      if (entry.dirent.isDirectory()) continue
      if (!isMatch(byPath ? entry.relative : entry.dirent.name)) continue
      try {
        out.push(await fileInfo(entry.path, entry.target))
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err
      }
    }
  } catch (err) {
    throw fsError(err, 'open', path, 'error searching files. ')
  }
  return out
}
