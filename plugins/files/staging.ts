/**
 * Every temp entry staged beside a user's file (an upload's or a replace's temp file, the copy of
 * a move across filesystems, what an isolated session's commit stages) is tracked from the moment
 * it exists until its owner renames it into place or removes it. What is still staged when the
 * files sections close (execd stopping on SIGTERM) is removed then: before, execd exited with
 * its `.execd-*` entries left next to the user's files.
 *
 * A removal takes the entry only if it is still the one made (same device and inode) and still
 * carries a staging name, so a user's file that took its place is never removed for it.
 *
 * One registry per process, not per section: the entries belong to the process that would
 * leave them, and they are made by plain operations that hold only a directory and a name.
 */
import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { shuttingDown } from '../../core/errors'
import { randomHex } from '../../core/random'
import { O_PATH, procPath, type Name } from './beneath'
import { decodeName } from './ops/names'
import { removeEntry } from './tree'

/** What identifies an entry made: a removal checks it is still that one. */
export interface Made {
  dev: bigint
  ino: bigint
}

/** The marker in every temp name of the files section, so strays are easy to recognise. */
const TEMP_MARKER = '.execd-tmp-'

/** The temp name an entry named `name` is staged under, beside it. */
export const tempNameFor = (name: Name): string =>
  `.${typeof name === 'string' ? name : decodeName(name).lossy}${TEMP_MARKER}${randomHex(6)}`

/** The names staged entries have: tempNameFor's, and an isolated commit's (ops/commit.ts). */
const STAGED_NAME = /(?:\.execd-tmp-[0-9a-f]{12}|^\.execd-commit-[0-9a-f]{8})$/

const isStagedName = (name: Name): boolean =>
  STAGED_NAME.test(typeof name === 'string' ? name : name.toString('latin1'))

interface Entry {
  /** The directory holding it: a path, or `/proc/self/fd/<fd>` of a directory its owner holds open. */
  dir: string
  name: Name
  made: Made
}

/** A tracked entry. `done()`: its owner renamed it into place or removed it (idempotent). */
export interface StagedEntry {
  done(): void
}

export class StagedEntries {
  private readonly entries = new Set<Entry>()
  private users = 0
  private closing = false

  /**
   * Tracks the entry `name` of `dir` that was just made. While it is tracked its owner keeps
   * `dir` valid (an anchor's descriptor stays open). Throws once execd is stopping: the
   * caller removes what it made, as for any failure.
   */
  track(dir: string, name: Name, made: Made): StagedEntry {
    if (this.closing) throw shuttingDown()
    const entry = { dir, name, made }
    this.entries.add(entry)
    return { done: () => void this.entries.delete(entry) }
  }

  /** A section that stages opens the registry; stagings are refused once every such section has closed it. */
  open(): void {
    this.users++
    this.closing = false
  }

  /** Closes one section's use; the last one removes everything still staged. */
  async close(): Promise<void> {
    if (--this.users > 0) return
    this.users = 0
    this.closing = true
    const left = [...this.entries]
    this.entries.clear()
    await Promise.allSettled(left.map(e => removeIfMade(e.dir, e.name, e.made)))
  }
}

export const stagedEntries = new StagedEntries()

const { O_DIRECTORY } = constants

/** Removes `name` of `dir` (a whole tree if it is one) if it is still the entry made and bears a staged name. */
export async function removeIfMade(dir: string | Buffer, name: Name, made: Made): Promise<void> {
  if (!isStagedName(name)) return
  const held = await open(dir, O_PATH | O_DIRECTORY).catch(() => undefined)
  if (!held) return
  try {
    const now = await lstat(procPath(held.fd, name), { bigint: true }).catch(() => undefined)
    if (now?.dev !== made.dev || now.ino !== made.ino) return
    await removeEntry(held.fd, name)
  } finally {
    await held.close()
  }
}
