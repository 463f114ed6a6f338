/** `DELETE /files` (files and symlinks) and `DELETE /directories` (rm -rf). Missing paths are fine. */
import { lstat, unlink } from 'node:fs/promises'
import { badRequest, errnoOf } from '../../../core/errors'
import { fsError } from '../errors'
import { MountKept, mountRefused } from '../../../core/beneath/mounts'
import type { PathScope, RawPath } from '../../../core/beneath/path-scope'
import { removeEntry } from '../../../core/beneath/tree'
import type { TreeWriteSlot } from './move'

/**
 * Removes files. A symlink is removed itself, dangling or not (the reference skips dangling
 * ones); a directory is refused, so a typo cannot take a tree with it.
 */
export async function deleteFiles(scope: PathScope, paths: readonly RawPath[]): Promise<void> {
  for (const raw of paths) scope.normalise(raw)
  for (const raw of paths) {
    const context = `error removing file ${raw}. `
    let step = 'lstat'
    try {
      await scope.with(raw, {}, async anchor => {
        if (anchor.name === '.' || (await lstat(anchor.at)).isDirectory()) {
          throw badRequest(`${context}path is a directory: ${raw}`)
        }
        step = 'remove'
        // unlink(2) never removes a directory, even one swapped in since the lstat.
        await unlink(anchor.at)
      })
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue
      if (errnoOf(err) === 'EISDIR') throw badRequest(`${context}path is a directory: ${raw}`)
      // EBUSY: a file with a mount on it (a bind-mounted file).
      if (errnoOf(err) === 'EBUSY') throw mountRefused('removal', `${raw} is a mount point`, context)
      throw fsError(err, step, raw, context)
    }
  }
}

/**
 * rm -rf each path (files too), walking the tree by descriptor. Refuses `/` and the configured
 * root itself; never crosses into another mount (400 naming the mount points kept). `slot`: what
 * the removals wait for once the paths are checked (the routes' --max-tree-writes).
 */
export async function removeDirectories(
  scope: PathScope,
  paths: readonly RawPath[],
  slot?: TreeWriteSlot,
): Promise<void> {
  for (const raw of paths) scope.normalise(raw)
  const release = await slot?.()
  try {
    await removeEach(scope, paths)
  } finally {
    release?.()
  }
}

async function removeEach(scope: PathScope, paths: readonly RawPath[]): Promise<void> {
  for (const raw of paths) {
    const context = `error removing directory ${raw}. `
    try {
      await scope.with(raw, {}, async anchor => {
        // The walk ends on `.` only for the root itself (or `/`): every other path names an entry.
        if (anchor.name === '.') throw badRequest(`${context}refusing to remove ${scope.root ? 'the root' : '/'}`)
        await removeEntry(anchor.dir, anchor.name)
      })
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue
      if (err instanceof MountKept) {
        const which = `kept the mount point${err.paths.length === 1 ? '' : 's'} ${err.pathsBelow(raw)}`
        throw mountRefused('removal', `${which} and the directories above`, context)
      }
      throw fsError(err, 'remove', raw, context)
    }
  }
}
