/** `GET /files/info`: FileInfo per requested path, keyed by the path as the caller wrote it. */
import { lstat } from 'node:fs/promises'
import { isPseudoFile, pseudoLength } from '../pseudo'
import { errnoOf, ExecdError, PREFIX } from '../../../core/errors'
import { fsError } from '../errors'
import { fileInfoFromStats, type FileInfo } from '../fileinfo'
import type { PathScope, RawPath } from '../../../core/beneath/path-scope'
import { entryStatOf } from '../stat-at'

/** Keyed by the path as sent; one sent as bytes is keyed by its `\xHH` text and carries `path_base64`. */
export async function statFiles(
  scope: PathScope,
  paths: readonly RawPath[],
  opts: { omitMissing?: boolean } = {},
): Promise<Record<string, FileInfo>> {
  for (const raw of paths) scope.normalise(raw)
  // No prototype: a file named __proto__ was assigned as the object's prototype and left out.
  const out: Record<string, FileInfo> = Object.create(null)
  for (const raw of paths) {
    try {
      out[String(raw)] = await scope.with(raw, {}, async a => {
        const stats = await lstat(a.at, { bigint: true })
        const info = fileInfoFromStats(a.path, entryStatOf(stats))
        // What a download of it sends (../pseudo.ts), not the stat's 0 or 4096.
        if (await isPseudoFile(a.at, stats)) info.size = await pseudoLength(a.at, a.path, info.size)
        if (a.bytes) info.path_base64 = a.bytes.toString('base64')
        return info
      })
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        if (opts.omitMissing) continue
        throw missingPath(raw)
      }
      throw fsError(err, 'lstat', raw)
    }
  }
  return out
}

/** The 404 of a path that does not exist; the CLI names each missing one of many alike. */
export const missingPath = (raw: RawPath): ExecdError =>
  new ExecdError('FILE_NOT_FOUND', `${PREFIX.notFound}file not found: ${raw}: lstat ${raw}: no such file or directory`)
