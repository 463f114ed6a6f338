/**
 * Staged files made durable and put in place together: an upload's once its body is in, a
 * replace's a batch at a time. Each fsynced as it was written was one wait for the disk after
 * another (a journal commit and a cache flush each: 450–600 one-KiB files/s on a loaded machine,
 * ~2.3 ms a file here); fsyncs in flight together share their journal commits, so SYNCS_AT_ONCE
 * of them run at a time. The promise is the same: no file is renamed into place before it is on
 * disk (each is its old or its new whole, a crash anywhere), and each directory is fsynced after
 * its renames, before the answer.
 */
import { fstatSync } from 'node:fs'
import { ExecdError } from '../../../core/errors'
import { inLanes } from '../../../core/lanes'
import { nextTurn } from '../../../core/timers'
import { syncDirectory, type Staged } from '../atomic'
import type { Anchor } from '../../../core/beneath/walk'
import type { Placed } from '../place'

/**
 * Fsyncs in flight at once. Measured, 1,000 one-KiB files written and then fsynced (ext4 on a
 * virtio disk, 2 cores, load 11): one at a time 2.3 s, 4 at once 0.67 s, 16 at once 0.8 s, 64
 * at once 0.75 s (the thread pool runs a few at a time; more only wait their turn there).
 */
const SYNCS_AT_ONCE = 16

/** A staged file and the anchor whose held directory it is renamed through. */
export interface StagedIn {
  anchor: Anchor
  staged: Staged
}

/** Files placed between two turns of the event loop (each a few system calls, made from it). */
const PLACES_PER_TURN = 64
/** Names a failed commit's answer lists of the files it could not take back. */
const NAMES_LISTED = 10

/**
 * Checks every target, fsyncs every file, places each in order, then fsyncs each directory
 * once. All or nothing: a target that became a directory or a FIFO since it was staged refuses
 * the whole set before any is placed, and a placing the kernel refuses (a target that is a
 * mount point: EBUSY) takes back the ones placed before it, last first, each replaced file put
 * back. One that cannot be taken back (renameat2 not to be had, or the target changed again
 * meanwhile) is named in the error's message.
 */
export async function commitTogether(files: readonly StagedIn[]): Promise<void> {
  for (const f of files) f.staged.check()
  await inLanes(files, SYNCS_AT_ONCE, f => f.staged.sync())
  const placed: { file: StagedIn; placed: Placed }[] = []
  try {
    for (const [i, file] of files.entries()) {
      if (i % PLACES_PER_TURN === PLACES_PER_TURN - 1) await nextTurn()
      placed.push({ file, placed: file.staged.place() })
    }
  } catch (err) {
    const kept = placed.reverse().filter(p => !p.placed.undo())
    await syncDirectories(placed.map(p => p.file))
    if (!kept.length || !(err instanceof ExecdError)) throw err
    await Promise.all(kept.map(p => p.placed.settle()))
    const names = kept.reverse().map(p => p.file.anchor.raw)
    const listed = names.slice(0, NAMES_LISTED).join(', ') + (names.length > NAMES_LISTED ? ', …' : '')
    throw new ExecdError(err.code, `${err.message}; written all the same (could not be taken back): ${listed}`, {
      cause: err,
    })
  }
  await inLanes(placed, SYNCS_AT_ONCE, p => p.placed.settle())
  await syncDirectories(files)
}

/**
 * A directory fsync per file was most of a small file's cost (50,000 files into one directory:
 * 1.6 ms each). Told apart by device and inode: a replace's anchors each hold their own
 * descriptor of a directory.
 */
async function syncDirectories(files: readonly StagedIn[]): Promise<void> {
  const dirs = new Map<string, number>()
  for (const { anchor } of files) {
    const s = fstatSync(anchor.dir)
    dirs.set(`${s.dev}:${s.ino}`, anchor.dir)
  }
  for (const dir of dirs.values()) await syncDirectory(dir)
}
