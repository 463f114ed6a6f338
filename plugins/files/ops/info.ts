/** `GET /files/info`: FileInfo per requested path, keyed by the path as the caller wrote it. */
import { ExecdError, PREFIX } from '../../../core/errors'
import { errnoOf, osMessage, fsError } from '../errors'
import { fileInfo, type FileInfo } from '../fileinfo'
import type { PathScope } from '../paths'

export async function statFiles(scope: PathScope, paths: readonly string[]): Promise<Record<string, FileInfo>> {
  const out: Record<string, FileInfo> = {}
  for (const raw of paths) {
    const { path, target } = scope.resolve(raw)
    try {
      out[raw] = await fileInfo(path, target)
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new ExecdError(
          'FILE_NOT_FOUND',
          `${PREFIX.notFound}file not found: ${raw}: ${osMessage(err, 'lstat', path)}`,
        )
      }
      throw fsError(err, 'lstat', path)
    }
  }
  return out
}
