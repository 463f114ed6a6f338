/** `POST /files/mv`: rename, creating the destination's parents; never overwrites. */
import { lstat } from 'node:fs/promises'
import { badRequest, errnoOf, ExecdError, PREFIX } from '../../../core/errors'
import { renameUnlessTaken } from '../../../core/renameat2'
import type { Anchor } from '../../../core/beneath/walk'
import { fsError, osMessage } from '../errors'
import { bytePathOf, type PathScope, type RawPath } from '../../../core/beneath/path-scope'
import { copyEntry, NotCopied } from '../../../core/beneath/copy-tree'
import { MountKept, mountRefused } from '../../../core/beneath/mounts'
import { stagedEntries, tempNameFor, type StagedEntry } from '../../../core/beneath/staging'
import { removeEntry } from '../../../core/beneath/tree'

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
  intoItself: boolean
}

function endOf(item: MoveItem, end: 'src' | 'dest'): RawPath {
  const text = item[end]
  const bytes = item[`${end}_base64`]
  if (text !== undefined && bytes !== undefined) throw badRequest(`give either '${end}' or '${end}_base64', not both`)
  if (bytes !== undefined) return bytePathOf(bytes, `${end}_base64`)
  if (text === undefined) throw badRequest(`${PREFIX.validation}each item needs '${end}' or '${end}_base64'`)
  return text
}

/**
 * A slot for a tree write (the routes' --max-tree-writes, core/admission.ts), released by the
 * function it resolves to; the CLI's own moves and removals take none (a person's, as its walks).
 */
export type TreeWriteSlot = () => Promise<() => void>

/**
 * `signal`: the client went away; a move not yet renamed into place stops and leaves the source
 * as it was. `slot`: what a move to another filesystem (a copy, then a removal) waits for first.
 */
export async function moveFiles(
  scope: PathScope,
  items: readonly MoveItem[],
  signal?: AbortSignal,
  slot?: TreeWriteSlot,
): Promise<void> {
  const checked = items.map((given): Move => {
    const item = { src: endOf(given, 'src'), dest: endOf(given, 'dest') }
    const [src, dest] = [scope.normalise(item.src), scope.normalise(item.dest)]
    return { ...item, intoItself: dest === src || dest.startsWith(`${src}/`) }
  })
  // The whole batch is checked before anything moves; a source that is not there is said to be
  // missing (404, as the reference's per-item stat comes first) rather than moved into itself.
  const inside = checked.find(item => item.intoItself)
  if (inside) {
    const there = await sourceOf(scope, inside.src)
    there.close()
    throw badRequest(`error accessing file: cannot move ${inside.src} into itself: ${inside.dest}`)
  }
  for (const [i, item] of checked.entries()) {
    signal?.throwIfAborted()
    const src = await sourceOf(scope, item.src)
    try {
      await moveOne(scope, src, item, signal, slot)
    } catch (err) {
      throw i > 0 ? movedBefore(err, i, checked.length) : err
    } finally {
      src.close()
    }
  }
}

/**
 * A tree write's refusal after earlier items of the batch moved says so: its "try again" asked
 * for the whole batch, whose first items were then missing at their sources (404), and the route
 * said nothing was written. Other failures keep the reference's words.
 */
function movedBefore(err: unknown, moved: number, of: number): unknown {
  if (!(err instanceof ExecdError) || err.code !== 'SERVICE_UNAVAILABLE' || !err.held) return err
  const rest = of - moved
  return new ExecdError(
    err.code,
    `${err.message}; the first ${moved} of the batch's ${of} moves were made, the last ${rest} not: ask again for those`,
    { held: err.held },
  )
}

/** The source, anchored once `lstat` has found it; a missing one is FILE_NOT_FOUND. */
async function sourceOf(scope: PathScope, raw: RawPath): Promise<Anchor> {
  try {
    const src = scope.anchor(raw)
    await lstat(src.at).catch(err => {
      src.close()
      throw err
    })
    return src
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'stat', raw)
    throw new ExecdError(
      'FILE_NOT_FOUND',
      `${PREFIX.notFound}source path not found: ${raw}: ${osMessage(err, 'stat', raw)}`,
    )
  }
}

async function moveOne(
  scope: PathScope,
  src: Anchor,
  item: Move,
  signal?: AbortSignal,
  slot?: TreeWriteSlot,
): Promise<void> {
  let dest: Anchor
  try {
    dest = scope.anchor(item.dest, { mkdirs: true, track: true })
  } catch (err) {
    throw fsError(err, 'mkdir', scope.failedDirectory(err, item.dest))
  }
  let moved = false
  try {
    try {
      moved = renameUnlessTaken(src.at, dest.at)
    } catch (err) {
      const code = errnoOf(err)
      // EINVAL: the destination is inside the source (reached through a symlink).
      if (code === 'EINVAL') throw badRequest(`error accessing file: cannot move ${item.src} into itself: ${item.dest}`)
      // EBUSY: the source is a mount point (the destination is free: renameUnlessTaken).
      if (code === 'EBUSY') throw mountRefused('move', `${item.src} is a mount point`)
      if (code !== 'EXDEV') throw fsError(err, 'rename', `${item.src} ${item.dest}`)
      const release = await slot?.()
      try {
        moved = await moveAcrossDevices(src, dest, signal).catch(e => {
          if (e instanceof NotCopied) throw notCopied(e, item)
          if (!(e instanceof MountKept)) throw fsError(e, 'move', `${item.src} ${item.dest}`)
          throw mountRefused('move', `${e.pathsBelow(item.src)} is a mount point`)
        })
      } finally {
        release?.()
      }
    }
    if (!moved) throw badRequest(`error accessing file: destination path already exists: ${item.dest}`)
  } finally {
    if (!moved) dest.undoCreated()
    dest.close()
  }
}

/**
 * rename(2) cannot cross filesystems (a volume mounted into the container, /dev/shm): copy
 * (modes, times and symlinks as they are) beside the destination, rename that into place,
 * then remove the source. A failure removes the partial copy and keeps the source; so does a
 * destination taken meanwhile (false), and a mount point in the source (`MountKept`).
 */
async function moveAcrossDevices(src: Anchor, dest: Anchor, signal?: AbortSignal): Promise<boolean> {
  const temp = tempNameFor(dest.name)
  let staged: StagedEntry | undefined
  let placed = false
  // Journalled before the copy exists (core/beneath/staging.ts Intent): a SIGKILL between its
  // making and its tracking left it beside the user's files for good.
  const intent = stagedEntries.intend(dest.dir, temp)
  try {
    await copyEntry(src.dir, src.name, dest.dir, temp, {
      // execd stopping stops the copy too: its partial copy is removed here, before the exit.
      signal: signal ? AbortSignal.any([signal, stagedEntries.stopping]) : stagedEntries.stopping,
      made: made => (staged = intent.track(made)),
    })
    placed = renameUnlessTaken(dest.beside(temp), dest.at)
  } finally {
    if (!placed) await removeEntry(dest.dir, temp).catch(() => {})
    staged?.done()
    intent.drop()
  }
  if (placed) await removeEntry(src.dir, src.name)
  return placed
}

/** The 400 of a move to another filesystem that met what a copy cannot make (copy-tree.ts). */
function notCopied(e: NotCopied, item: Move): ExecdError {
  return badRequest(
    `error accessing file: move ${item.src} ${item.dest}: ${e.below(String(item.src))} is ${e.kind}, and a move ` +
      'to another filesystem is a copy, which makes only files, directories and symlinks; nothing was moved',
  )
}
