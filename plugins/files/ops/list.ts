/** `GET /directories/list`: FileInfo of every entry to `depth` levels, depth-first, sorted by name. */
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { errnoOf, fsError } from '../errors'
import { fileInfo, type FileInfo } from '../fileinfo'
import type { PathScope } from '../paths'
import { walk } from './walk'

/** `depth` as the query gives it: absent → 1; not a non-negative integer → 400. */
export function parseDepth(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid query parameter 'depth': ${raw}`)
  return Number(raw)
}

export async function listDirectory(scope: PathScope, raw: string, depth = 1): Promise<FileInfo[]> {
  const { path, target } = scope.resolve(raw)
  const s = await lstat(target).catch(err => {
    throw fsError(err, 'lstat', path, `error listing directory ${raw}. `)
  })
  if (s.isSymbolicLink()) throw badRequest(`path is a symbolic link, refusing to traverse: ${path}`)
  if (!s.isDirectory()) throw badRequest(`path is not a directory: ${path}`)
  if (depth === 0) return []
  const out: FileInfo[] = []
  const skip = () => {}
  try {
    for await (const entry of walk(path, target, depth, skip)) {
      try {
        out.push(await fileInfo(entry.path, entry.target))
      } catch (err) {
        // Removed between readdir and lstat: it is simply gone.
        if (errnoOf(err) !== 'ENOENT') throw err
      }
    }
  } catch (err) {
    throw fsError(err, 'open', path, `error listing directory ${raw}. `)
  }
  return out
}
