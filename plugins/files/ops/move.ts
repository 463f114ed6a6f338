/** `POST /files/mv`: rename, creating the destination's parents; never overwrites. */
import { lstat, rename } from 'node:fs/promises'
import { badRequest, errnoOf, ExecdError, PREFIX } from '../../../core/errors'
import { tempNameFor } from '../atomic'
import type { Anchor } from '../beneath'
import { fsError, osMessage } from '../errors'
import { bytePathOf, type PathScope, type RawPath } from '../paths'
import { copyEntry } from '../copy-tree'
import { removeEntry } from '../tree'

/** Each end as text, or as its exact bytes (`src_base64`, `dest_base64`): exactly one of the two. */
interface MoveItem {
  src?: string
  dest?: string
  src_base64?: string
  dest_base64?: string
}

interface Move {
  src: RawPath
  dest: RawPath
}

function endOf(item: MoveItem, end: 'src' | 'dest'): RawPath {
  const text = item[end]
  const bytes = item[`${end}_base64`]
  if (text !== undefined && bytes !== undefined) throw badRequest(`give either '${end}' or '${end}_base64', not both`)
  if (bytes !== undefined) return bytePathOf(bytes, `${end}_base64`)
  if (text === undefined) throw badRequest(`${PREFIX.validation}each item needs '${end}' or '${end}_base64'`)
  return text
}

export async function moveFiles(scope: PathScope, items: readonly MoveItem[]): Promise<void> {
  const checked = items.map((given): Move => {
    const item = { src: endOf(given, 'src'), dest: endOf(given, 'dest') }
    const [src, dest] = [scope.normalise(item.src), scope.normalise(item.dest)]
    if (dest === src || dest.startsWith(`${src}/`)) {
      throw badRequest(`error accessing file: cannot move ${item.src} into itself: ${item.dest}`)
    }
    return item
  })
  for (const item of checked) {
    let src: Anchor
    try {
      src = scope.anchor(item.src)
      await lstat(src.at).catch(err => {
        src.close()
        throw err
      })
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'stat', item.src)
      throw new ExecdError(
        'FILE_NOT_FOUND',
        `${PREFIX.notFound}source path not found: ${item.src}: ${osMessage(err, 'stat', item.src)}`,
      )
    }
    try {
      await moveOne(scope, src, item)
    } finally {
      src.close()
    }
  }
}

async function moveOne(scope: PathScope, src: Anchor, item: Move): Promise<void> {
  let dest: Anchor
  try {
    dest = scope.anchor(item.dest, { mkdirs: true, track: true })
  } catch (err) {
    throw fsError(err, 'mkdir', item.dest)
  }
  let moved = false
  try {
    if (await exists(dest.at)) {
      throw badRequest(`error accessing file: destination path already exists: ${item.dest}`)
    }
    try {
      await rename(src.at, dest.at)
    } catch (err) {
      const code = errnoOf(err)
      // EINVAL: the destination is inside the source (reached through a symlink).
      if (code === 'EINVAL') throw badRequest(`error accessing file: cannot move ${item.src} into itself: ${item.dest}`)
      if (code !== 'EXDEV') throw fsError(err, 'rename', `${item.src} ${item.dest}`)
      await moveAcrossDevices(src, dest).catch(e => {
        throw fsError(e, 'move', `${item.src} ${item.dest}`)
      })
    }
    moved = true
  } finally {
    if (!moved) dest.undoCreated()
    dest.close()
  }
}

/**
 * rename(2) cannot cross filesystems (a volume mounted into the container, /dev/shm): copy
 * (modes, times and symlinks as they are) beside the destination, rename that into place,
 * then remove the source. A failure removes the partial copy and keeps the source.
 */
async function moveAcrossDevices(src: Anchor, dest: Anchor): Promise<void> {
  const temp = tempNameFor(dest.name)
  try {
    await copyEntry(src.dir, src.name, dest.dir, temp)
    await rename(dest.beside(temp), dest.at)
  } catch (err) {
    await removeEntry(dest.dir, temp).catch(() => {})
    throw err
  }
  await removeEntry(src.dir, src.name)
}

async function exists(p: string | Buffer): Promise<boolean> {
  try {
    await lstat(p)
    return true
  } catch {
    return false
  }
}
