/** `GET /directories/list`: FileInfo of every entry to `depth` levels, depth-first, sorted by name. */
import { lstat } from 'node:fs/promises'
import { badRequest, errnoOf } from '../../../core/errors'
import { fsError } from '../errors'
import { fileInfoFromStats, type FileInfo } from '../fileinfo'
import type { PathScope, RawPath } from '../paths'
import { WALK_LIMITS, startAt, tooManyEntries, walk, type WalkEntry, type WalkLimits } from './walk'

/** A FileInfo whose path is not valid UTF-8 also carries its exact bytes (ops/names.ts). */
export type WalkedInfo = FileInfo

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

/**
 * The directory is resolved beneath the root and opened from its held parent (a symlink there
 * is refused, not followed); the walk then goes by descriptor from it. Messages name the path
 * as the client wrote it.
 */
export async function listDirectory(
  scope: PathScope,
  raw: RawPath,
  depth = 1,
  limits: WalkLimits = WALK_LIMITS,
): Promise<WalkedInfo[]> {
  let step = 'lstat'
  try {
    return await scope.with(raw, {}, async anchor => {
      const start = await startAt(anchor)
      if (!start) {
        const s = await lstat(anchor.at)
        if (s.isSymbolicLink()) throw badRequest(`path is a symbolic link, refusing to traverse: ${raw}`)
        if (!s.isDirectory()) throw badRequest(`path is not a directory: ${raw}`)
        throw badRequest(`path changed while it was being resolved: ${raw}`)
      }
      step = 'open'
      const out: WalkedInfo[] = []
      if (depth === 0) {
        await start.handle.close()
        return out
      }
      for await (const entry of walk(start, depth, () => {}, limits, 'listing')) {
        const info = await walkedInfo(entry)
        if (!info) continue
        if (out.length >= limits.maxEntries) throw tooManyEntries('listing', limits.maxEntries)
        out.push(info)
      }
      return out
    })
  } catch (err) {
    throw fsError(err, step, raw, `error listing directory ${raw}. `)
  }
}
