/** `GET /files/info`: FileInfo per requested path, keyed by the path as the caller wrote it. */
import { lstat } from 'node:fs/promises'
import { ExecdError, PREFIX } from '../../../core/errors'
import { errnoOf, osMessage, fsError } from '../errors'
import { fileInfoFromStats, type FileInfo } from '../fileinfo'
import type { PathScope } from '../paths'

export async function statFiles(scope: PathScope, paths: readonly string[]): Promise<Record<string, FileInfo>> {
  for (const raw of paths) scope.normalise(raw)
  const out: Record<string, FileInfo> = {}
  for (const raw of paths) {
    try {
      out[raw] = await scope.with(raw, {}, async a => fileInfoFromStats(a.path, await lstat(a.at, { bigint: true })))
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new ExecdError(
          'FILE_NOT_FOUND',
          `${PREFIX.notFound}file not found: ${raw}: ${osMessage(err, 'lstat', raw)}`,
        )
      }
      throw fsError(err, 'lstat', raw)
    }
  }
  return out
}
