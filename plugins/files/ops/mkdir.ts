/** `POST /directories`: mkdir -p, then mode and owner of the leaf when given. */
import { badRequest } from '../../../core/errors'
import { changeMode, changeOwner, withEntry } from '../../../core/beneath/entry'
import { fsError } from '../errors'
import { claimDirectory } from '../../../core/beneath/made-dirs'
import type { PathScope } from '../../../core/beneath/path-scope'
import { planPermissions, type Permission } from './permissions'

export async function makeDirectories(scope: PathScope, entries: Record<string, Permission>): Promise<void> {
  // Everything is checked before the first directory is made.
  for (const { raw, mode, own } of planPermissions(scope, entries)) {
    let step = 'mkdir'
    try {
      // Tracked: a walk that fails (ENOSPC or EDQUOT on a full disk, EACCES deeper down) removes
      // the directories it made, as an upload's does: a failed mkdir of a/b/c/d had left a/b/c,
      // and on a disk out of inodes they held the last ones.
      await scope.with(raw, { mkdirs: true, mkdirLeaf: true, track: true }, anchor =>
        withEntry(anchor, async entry => {
          // mkdir -p succeeds silently on an existing path; make sure it is a directory.
          if (!entry.stats.isDirectory()) throw badRequest(`error accessing file: mkdir ${raw}: not a directory`)
          // Made by an upload or a move still in flight: should that fail, this one stays.
          claimDirectory(entry.stats)
          // mkdir's mode is filtered by the umask; an explicit mode is applied as given.
          step = 'chmod'
          if (mode !== undefined) await changeMode(entry, mode)
          step = 'chown'
          await changeOwner(entry, own)
        }),
      )
    } catch (err) {
      throw fsError(err, step, step === 'mkdir' ? scope.failedDirectory(err, raw) : raw)
    }
  }
}
