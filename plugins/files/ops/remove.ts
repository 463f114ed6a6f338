/** `DELETE /files` (files and symlinks) and `DELETE /directories` (rm -rf). Missing paths are fine. */
import { lstat, rm, unlink } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { errnoOf, fsError } from '../errors'
import type { PathScope } from '../paths'

/**
 * Removes files. A symlink is removed itself, dangling or not (the reference skips dangling
 * ones); a directory is refused, so a typo cannot take a tree with it.
 */
export async function deleteFiles(scope: PathScope, paths: readonly string[]): Promise<void> {
  for (const raw of paths) {
    const { path, target } = scope.resolve(raw)
    let isDir = false
    try {
      isDir = (await lstat(target)).isDirectory()
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue
      throw fsError(err, 'lstat', path, `error removing file ${raw}. `)
    }
    if (isDir) throw badRequest(`error removing file ${raw}. path is a directory: ${raw}`)
    try {
      await unlink(target)
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue
      throw fsError(err, 'remove', path, `error removing file ${raw}. `)
    }
  }
}

/** rm -rf each path (files too). Refuses `/` and the configured root itself. */
export async function removeDirectories(scope: PathScope, paths: readonly string[]): Promise<void> {
  for (const raw of paths) {
    const { path, target } = scope.resolve(raw)
    if (target === '/' || target === scope.root) {
      throw badRequest(`error removing directory ${raw}. refusing to remove ${target === '/' ? '/' : 'the root'}`)
    }
    try {
      await rm(target, { recursive: true, force: true })
    } catch (err) {
      throw fsError(err, 'remove', path, `error removing directory ${raw}. `)
    }
  }
}
