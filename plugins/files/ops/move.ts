/** `POST /files/mv`: rename, creating the destination's parents; never overwrites. */
import { lstat, mkdir, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ExecdError, PREFIX, badRequest } from '../../../core/errors'
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
      throw fsError(err, 'rename', `${src.path} ${dest.path}`)
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p)
    return true
  } catch {
    return false
  }
}
