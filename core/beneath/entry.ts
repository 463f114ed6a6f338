/**
 * Acting on the entry an Anchor resolved to without naming it again: it is opened once with
 * O_PATH | O_NOFOLLOW, and chmod/chown/reads go through `/proc/self/fd/<that fd>`, a magic link
 * to exactly that inode. An entry swapped for a symlink after the walk is refused, not followed.
 */
import { type Stats, closeSync, fstatSync, openSync } from 'node:fs'
import { chmod, chown, open, type FileHandle } from 'node:fs/promises'
import { constants } from 'node:fs'
import { badRequest } from '../errors'
import { fdPath } from '../file-snapshot'
import { O_PATH, type Anchor } from './walk'
import type { Ownership } from '../owner-names'

export { fdPath }

/** An O_PATH handle on an anchor's entry and its stats. `close()` when done. */
export interface Entry {
  fd: number
  stats: Stats
  close(): void
}

/** Opens the entry itself (a final symlink is refused: the walk has already resolved it). */
export function openEntry(anchor: Anchor): Entry {
  const fd = openSync(anchor.at, O_PATH | constants.O_NOFOLLOW)
  const entry = { fd, stats: fstatSync(fd), close: () => closeSync(fd) }
  if (entry.stats.isSymbolicLink() && anchor.name !== '.') {
    entry.close()
    throw badRequest(`path changed while it was being resolved: ${anchor.raw}`)
  }
  return entry
}

/** A readable handle on the same file (O_PATH cannot read). */
export const reopenForRead = (entry: Entry): Promise<FileHandle> => open(fdPath(entry.fd), 'r')

export const changeMode = (entry: Entry, mode: number): Promise<void> => chmod(fdPath(entry.fd), mode)

/** chown only what was asked for; -1 keeps the other id. */
export async function changeOwner(entry: Entry, own: Ownership): Promise<void> {
  if (own.uid === undefined && own.gid === undefined) return
  await chown(fdPath(entry.fd), own.uid ?? -1, own.gid ?? -1)
}

/** Runs `use` with the entry open, closing it after. */
export async function withEntry<T>(anchor: Anchor, use: (entry: Entry) => Promise<T>): Promise<T> {
  const entry = openEntry(anchor)
  try {
    return await use(entry)
  } finally {
    entry.close()
  }
}
