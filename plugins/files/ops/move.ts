/** `POST /files/mv`: rename, creating the destination's parents; never overwrites. */
import { cp, lstat, mkdir, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ExecdError, PREFIX, badRequest } from '../../../core/errors'
import { tempPathFor } from '../atomic'
import { errnoOf, fsError, osMessage } from '../errors'
import type { PathScope } from '../paths'

export interface MoveItem {
  src: string
  dest: string
}

export async function moveFiles(scope: PathScope, items: readonly MoveItem[]): Promise<void> {
  for (const item of items) {
    const src = scope.resolve(item.src)
    const dest = scope.resolve(item.dest)
    try {
      await lstat(src.target)
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new ExecdError(
          'FILE_NOT_FOUND',
          `${PREFIX.notFound}source path not found: ${item.src}: ${osMessage(err, 'stat', src.path)}`,
        )
      }
      throw fsError(err, 'stat', src.path)
    }
    if (await exists(dest.target)) {
      throw badRequest(`error accessing file: destination path already exists: ${item.dest}`)
    }
    if (dest.target === src.target || dest.target.startsWith(`${src.target}/`)) {
      throw badRequest(`error accessing file: cannot move ${item.src} into itself: ${item.dest}`)
    }
    try {
      await mkdir(dirname(dest.target), { recursive: true })
    } catch (err) {
      throw fsError(err, 'mkdir', dirname(dest.path))
    }
    try {
      await rename(src.target, dest.target)
    } catch (err) {
      if (errnoOf(err) !== 'EXDEV') throw fsError(err, 'rename', `${src.path} ${dest.path}`)
      await moveAcrossDevices(src.target, dest.target).catch(e => {
        throw fsError(e, 'move', `${src.path} ${dest.path}`)
      })
    }
  }
}

/**
 * rename(2) cannot cross filesystems (a volume mounted into the container, /dev/shm): copy
 * (modes, times and symlinks as they are) beside the destination, rename that into place,
 * then remove the source. A failure removes the partial copy and keeps the source.
 */
async function moveAcrossDevices(src: string, dest: string): Promise<void> {
  const temp = tempPathFor(dest)
  try {
    await cp(src, temp, {
      recursive: true,
      preserveTimestamps: true,
      verbatimSymlinks: true,
      errorOnExist: true,
      force: false,
    })
    await rename(temp, dest)
  } catch (err) {
    await rm(temp, { recursive: true, force: true })
    throw err
  }
  await rm(src, { recursive: true, force: true })
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p)
    return true
  } catch {
    return false
  }
}
