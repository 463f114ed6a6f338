/**
 * Puts a staged file at its target so that the step can still be taken back, and so that the
 * target's kind is checked in the same step as it is replaced. A plain rename replaced whatever
 * the name held by then: a FIFO made there after the upload's check was renamed over, and once
 * a later file of the same request failed, the ones before it stayed replaced, their old
 * contents gone. Now a target that exists swaps names with the staged file (renameat2
 * RENAME_EXCHANGE): what comes back under the temp name is looked at, swapped back if it is
 * not a file, and kept until the whole request is placed; a target that does not exist is
 * taken only while it still does not (RENAME_NOREPLACE). Where renameat2 is not to be had,
 * a rename right after the check, with no await between: such a file cannot be taken back.
 */
import { lstatSync, renameSync, type Stats } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { getSystemErrorName } from 'node:util'
import { constants } from 'node:os'
import { ExecdError } from '../../core/errors'
import { RENAME_EXCHANGE, RENAME_NOREPLACE, renameWithFlags } from '../../core/renameat2'
import type { Anchor, Name } from '../../core/beneath/walk'
import { fsError } from './errors'
import { stagedEntries } from '../../core/beneath/staging'

const { EEXIST, ENOENT } = constants.errno

/** A staged file in place, the replaced one (if any) kept under the temp name until `settle`. */
export interface Placed {
  /** Puts the replaced file back (or the name free again): false when that cannot be done. */
  undo(): boolean
  /** Removes the replaced file: the placing is final. */
  settle(): Promise<void>
}

/**
 * Refuses a target that a file may not replace: a directory (EISDIR), or a device, FIFO or
 * socket, which is not content to replace (an upload to /dev/null left every later
 * `> /dev/null` writing to a file). A link is replaced as before.
 */
export function refuseKind(entry: Stats | undefined, anchor: Anchor, op = 'open'): void {
  if (entry?.isDirectory() || anchor.name === '.') {
    throw fsError(Object.assign(new Error(), { code: 'EISDIR' }), op, anchor.raw)
  }
  if (entry && !entry.isFile() && !entry.isSymbolicLink()) {
    throw new ExecdError('INVALID_REQUEST_BODY', `error accessing file: not a regular file: ${anchor.raw}`)
  }
}

export const entryAt = (at: Name): Stats | undefined => lstatSync(at, { throwIfNoEntry: false })

const errnoError = (errno: number) => Object.assign(new Error(), { code: getSystemErrorName(-errno) })

/** Tries again when the target came or went between the look and the rename (another process's). */
const ATTEMPTS = 3

/** Puts the file staged as `tempName` beside `anchor`'s entry in its place (see above). */
export function placeStaged(anchor: Anchor, tempName: string): Placed {
  const temp = anchor.beside(tempName)
  const target = anchor.at
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const now = entryAt(target)
    refuseKind(now, anchor, 'rename')
    if (!now) {
      const errno = renameWithFlags(temp, target, RENAME_NOREPLACE)
      if (errno === EEXIST) continue
      if (errno === undefined) return renamedOver(temp, target, anchor)
      if (errno !== 0) throw fsError(errnoError(errno), 'rename', anchor.raw)
      return {
        undo: () => tryRename(target, temp),
        settle: async () => {},
      }
    }
    // The replaced file is journalled under the temp name before the swap: a SIGKILL between
    // the swap and `settle` leaves nothing of it for the next start to miss (core/beneath/staging.ts).
    const aside = stagedEntries.track(anchor.dir, tempName, lstatSync(target, { bigint: true }))
    const errno = renameWithFlags(temp, target, RENAME_EXCHANGE)
    if (errno !== 0) aside.done()
    if (errno === ENOENT) continue
    if (errno === undefined) return renamedOver(temp, target, anchor)
    if (errno !== 0) throw fsError(errnoError(errno), 'rename', anchor.raw)
    const replaced = entryAt(temp)
    if (!replaced?.isFile() && !replaced?.isSymbolicLink()) {
      // Made at the name after the look: it goes back, and the staged file with it.
      renameWithFlags(temp, target, RENAME_EXCHANGE)
      aside.done()
      refuseKind(replaced, anchor, 'rename')
    }
    let settled = false
    return {
      undo: () => {
        const back = renameWithFlags(temp, target, RENAME_EXCHANGE) === 0
        if (back) aside.done()
        return back
      },
      settle: async () => {
        if (settled) return
        settled = true
        await unlink(temp).catch(() => {})
        aside.done()
      },
    }
  }
  throw new ExecdError(
    'RUNTIME_ERROR',
    `error accessing file: rename ${anchor.raw}: the target kept changing while it was replaced`,
  )
}

/** The fallback: a rename, the check just before it. Nothing to take back. */
function renamedOver(temp: string, target: Name, anchor: Anchor): Placed {
  refuseKind(entryAt(target), anchor, 'rename')
  try {
    renameSync(temp, target)
  } catch (err) {
    throw fsError(err, 'rename', anchor.raw)
  }
  return { undo: () => false, settle: async () => {} }
}

function tryRename(from: Name, to: Name): boolean {
  try {
    renameSync(from, to)
    return true
  } catch {
    return false
  }
}
