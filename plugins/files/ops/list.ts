/** `GET /directories/list`: FileInfo of every entry to `depth` levels, depth-first, sorted by name. */
import { lstat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { errnoOf, fsError } from '../errors'
import { fileInfoFromStats, type FileInfo } from '../fileinfo'
import type { PathScope } from '../paths'
import { WALK_LIMITS, tooManyEntries, walk, type WalkEntry, type WalkLimits } from './walk'

/** A FileInfo whose path is not valid UTF-8 also carries its exact bytes (ops/names.ts). */
export type WalkedInfo = FileInfo & { path_base64?: string }

/** `depth` as the query gives it: absent → 1; not a non-negative integer → 400. */
export function parseDepth(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid query parameter 'depth': ${raw}`)
  return Number(raw)
}

/** The entry's FileInfo; undefined if it vanished since its directory was read. */
export async function walkedInfo(entry: WalkEntry): Promise<WalkedInfo | undefined> {
  try {
    const info: WalkedInfo = fileInfoFromStats(entry.path, await entry.stat())
    if (!entry.valid) info.path_base64 = entry.bytes.toString('base64')
    return info
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ESTALE') return undefined
    throw err
  }
}

export async function listDirectory(
  scope: PathScope,
  raw: string,
  depth = 1,
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  const { path, target } = scope.resolve(raw)
  const s = await lstat(target).catch(err => {
    throw fsError(err, 'lstat', path, `error listing directory ${raw}. `)
  })
  if (s.isSymbolicLink()) throw badRequest(`path is a symbolic link, refusing to traverse: ${path}`)
  if (!s.isDirectory()) throw badRequest(`path is not a directory: ${path}`)
  if (depth === 0) return []
  const out: WalkedInfo[] = []
  const skip = () => {}
  try {
    for await (const entry of walk(path, target, depth, skip, limits, 'listing')) {
      const info = await walkedInfo(entry)
      if (!info) continue
      if (out.length >= limits.maxEntries) throw tooManyEntries('listing', limits.maxEntries)
      out.push(info)
    }
  } catch (err) {
    throw fsError(err, 'open', path, `error listing directory ${raw}. `)
  }
  return out
}
