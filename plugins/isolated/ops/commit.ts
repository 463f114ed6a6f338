/**
 * Commit of an overlay's changes into the real workspace (the session's sandbox is stopped by
 * then), in two steps so that a failure part way commits nothing:
 * 1. stage: every file, symlink, FIFO and new directory is written beside its target under a temp
 *    name (a new directory's contents inside it, at their own names): this is what takes room
 *    on the disk, and what a full disk stops;
 * 2. place: deletions, staged entries renamed over their targets, modes of kept directories:
 *    steps that take no room.
 * execd stopping (SIGTERM) ends the stage step as a failure does: a big file's copy outlasted
 * the shutdown's limit and left its temp file. A reader of the workspace sees each file old or
 * new, never half of it. A failure names the workspace path it stopped at, never execd's own
 * paths (the upper layer, the temp names). Nothing is written through a symlink out of the
 * workspace. A file keeps its bytes, mode (never setuid/setgid) and times.
 */
import { lstatSync, mkdirSync, symlinkSync, type Stats } from 'node:fs'
import { chmod, lchown, lstat, readlink, realpath, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, sep } from 'node:path'
import { ExecdError } from '../../../core/errors'
import { makeFifo } from '../../../core/fifo'
import { RENAME_EXCHANGE, renameWithFlags } from '../../../core/renameat2'
import { copyLeaf } from '../../../core/beneath/copy-tree'
import {
  commitAsideName,
  commitTempName,
  stagedEntries,
  type Intent,
  type Made,
  type StagedEntry,
} from '../../../core/beneath/staging'
import type { ChangedPath } from './overlay'

/** A commit's answer: what it wrote to (or removed from) the workspace, what it left out. */
export interface Committed {
  applied: ChangedPath[]
  /** Sockets and device nodes the session made: not carried out, and gone with the overlay. */
  skipped: ChangedPath[]
  session_restarted: boolean
}

/** What the place step does for one change. */
type Placement =
  | { kind: 'delete'; change: ChangedPath; target: string }
  | { kind: 'mode'; change: ChangedPath; target: string; up: Stats }
  | { kind: 'rename'; change: ChangedPath; target: string; temp: string; replaces?: Stats; staged: StagedEntry }
  /** Staged inside a new directory, at its own name: it arrives with that directory. */
  | { kind: 'within'; change: ChangedPath }

const lstatOrNot = (p: string): Promise<Stats | undefined> => lstat(p).catch(() => undefined)

/**
 * Applies the changes (parents before their contents, as changesOf lists them); returns those
 * applied, and those left out (a socket, a device: `stage`), which the emptied overlay then
 * drops, so the caller can name them. `signal` (execd stopping) stops the stage step between changes and within a file's
 * copy, and commits nothing; the place step, renames that take no time, is let finish.
 */
export async function applyChanges(
  changes: ChangedPath[],
  upper: string,
  workspace: string,
  signal?: AbortSignal,
  intact?: () => boolean,
): Promise<{ applied: ChangedPath[]; skipped: ChangedPath[] }> {
  const placements: Placement[] = []
  const skipped: ChangedPath[] = []
  /** A directory staged anew (rel → where it is staged): its contents are written inside it. */
  const newDirs = new Map<string, string>()
  for (const c of changes) {
    try {
      signal?.throwIfAborted()
      const p = await stage(c, upper, workspace, newDirs, signal)
      if (p === LEFT_OUT) skipped.push(c)
      else if (p) placements.push(p)
    } catch (err) {
      await unstage(placements)
      // The layers removed under the stage step (read through the dir held: gone with it, never
      // another's at the name): that is what happened, not a file missing.
      if (intact && !intact()) throw failed(`commit failed: ${LAYERS_REMOVED}; nothing was committed`, err)
      throw failed(`commit failed at ${c.path}: ${reasonOf(err)}; nothing was committed`, err)
    }
  }
  // `upper` is reached through the session's dir held open (core/held-dir.ts), so the stage step,
  // which a big file makes long, read execd's own layers throughout; were they removed meanwhile
  // (another user's dir may stand at their name by now), what was staged is not placed.
  if (intact && !intact()) {
    await unstage(placements)
    throw failed(`commit failed: ${LAYERS_REMOVED}; nothing was committed`, undefined)
  }
  for (const [i, p] of placements.entries()) {
    try {
      await place(p)
    } catch (err) {
      // Placed, though what it replaced could not all be removed: it counts as committed.
      const placed = (err as { placed?: boolean }).placed ? i + 1 : i
      await unstage(placements.slice(placed))
      const done = placements.slice(0, placed).map(q => q.change.path)
      throw failed(
        `commit stopped at ${p.change.path}: ${reasonOf(err)}; ${done.length} of ${placements.length} changes ` +
          `were committed${done.length ? ` (${named(done)})` : ''}, the rest not`,
        err,
      )
    }
  }
  return { applied: placements.map(p => p.change), skipped }
}

/** What `stage` gives for a change a commit does not carry out (a socket, a device node). */
const LEFT_OUT = 'left out'

async function stage(
  c: ChangedPath,
  upper: string,
  workspace: string,
  newDirs: Map<string, string>,
  signal?: AbortSignal,
): Promise<Placement | typeof LEFT_OUT | undefined> {
  const rel = c.path.slice(workspace.length + 1)
  const target = join(workspace, rel)
  const inNewDir = newDirs.get(dirname(rel))
  if (inNewDir === undefined) {
    const parent = dirname(target)
    const real = await realpath(parent)
    if (real !== workspace && !real.startsWith(workspace + sep)) {
      throw new ExecdError('RUNTIME_ERROR', `${parent} leads out of the workspace`)
    }
  }
  if (c.change === 'deleted') return inNewDir === undefined ? { kind: 'delete', change: c, target } : undefined
  const low = inNewDir === undefined ? await lstatOrNot(target) : undefined
  const from = join(upper, rel)
  const up = await lstat(from)
  // A FIFO is a name and a mode, nothing to copy: it is made anew beside its target (copying
  // one blocked a thread of the pool for good; left out, the commit dropped it, and the emptied
  // overlay with it). A socket or device the session made is not carried out: a socket has no
  // listener once its sandbox is gone (and failed the whole commit), and a device node made
  // outside the sandbox would open the machine's device there.
  const fifo = up.isFIFO()
  if (!up.isDirectory() && !up.isSymbolicLink() && !up.isFile() && !fifo) return LEFT_OUT
  if (up.isDirectory() && low?.isDirectory()) return { kind: 'mode', change: c, target, up }
  const dest = inNewDir === undefined ? join(dirname(target), commitTempName()) : join(inNewDir, basename(rel))
  let staged: StagedEntry | undefined
  // Removed if execd stops before it is placed (core/beneath/staging.ts), journalled before it
  // exists (an intent) and tracked in the turn that made it: a file tracked once written whole
  // was left beside the user's files by a stop during its copy, and one made before its journal
  // was by a SIGKILL in between. What is staged inside a new directory goes with that directory.
  let intent: Intent | undefined
  const track = (made: Made) => {
    if (intent) staged = intent.track(made)
  }
  try {
    if (inNewDir === undefined) intent = stagedEntries.intend(dirname(dest), basename(dest))
    if (up.isDirectory()) {
      mkdirSync(dest)
      track(lstatSync(dest, { bigint: true }))
      newDirs.set(rel, dest)
      await chmod(dest, up.mode & 0o7777)
    } else if (fifo) {
      if (!makeFifo(dest)) throw new ExecdError('RUNTIME_ERROR', 'the FIFO could not be made')
      track(lstatSync(dest, { bigint: true }))
      await chmod(dest, up.mode & 0o1777)
    } else if (up.isSymbolicLink()) {
      const to = await readlink(from)
      symlinkSync(to, dest)
      track(lstatSync(dest, { bigint: true }))
    } else {
      // Never setuid/setgid: the sandbox's root needs no capability to chmod its own file
      // u+s, and such a program committed as root's would run as root outside the sandbox.
      // (The chown below would clear the bits too; this does not rest on that.)
      await copyLeaf(from, dest, up, { signal, made: track, modeBits: 0o1777 })
    }
    await lchown(dest, up.uid, up.gid)
  } catch (err) {
    // Staged at its own name inside a new directory, it goes when that directory goes.
    if (inNewDir === undefined) await rm(dest, { recursive: true, force: true })
    staged?.done()
    intent?.drop()
    throw err
  }
  return staged
    ? { kind: 'rename', change: c, target, temp: dest, replaces: low, staged }
    : { kind: 'within', change: c }
}

async function place(p: Placement): Promise<void> {
  if (p.kind === 'delete') await rm(p.target, { recursive: true, force: true })
  else if (p.kind === 'mode') {
    await chmod(p.target, p.up.mode & 0o7777)
    await lchown(p.target, p.up.uid, p.up.gid)
  } else if (p.kind === 'rename') {
    // rename replaces a file by a file atomically; a directory on either side cannot be
    // renamed over, so the two swap names instead (or the old entry goes aside first).
    const temp = await lstat(p.temp)
    try {
      if (p.replaces && (p.replaces.isDirectory() || temp.isDirectory())) await replaceByExchange(p.temp, p.target)
      else await rename(p.temp, p.target)
    } catch (err) {
      if ((err as { placed?: boolean }).placed) p.staged.done()
      throw err
    }
    p.staged.done()
  }
}

/**
 * Puts `temp` at `target` where a rename cannot replace it (a directory on either side). The two
 * swap names in one step (renameat2 RENAME_EXCHANGE), then the old entry, now under the temp
 * name, is removed. It is journalled there (core/beneath/staging.ts) before the swap, so a SIGKILL at
 * any point leaves nothing of execd's: before the swap the next start removes the new entry under
 * the temp name, after it the old one. Where the swap is not to be had, replaceAside.
 */
export async function replaceByExchange(temp: string, target: string): Promise<void> {
  let aside: StagedEntry | undefined
  try {
    aside = stagedEntries.track(dirname(temp), basename(temp), await lstat(target, { bigint: true }))
  } catch {
    // Best effort, as the journal is: the place step is let finish while execd stops.
  }
  try {
    if (renameWithFlags(temp, target, RENAME_EXCHANGE) !== 0) return await replaceAside(temp, target)
    await removeReplaced(temp)
  } finally {
    aside?.done()
  }
}

/**
 * replaceAside: the old entry is renamed aside (one step that either happens or not: a volume
 * mounted on it refuses with EBUSY), put back if the rename of the new one fails, and removed
 * only once the new one is in place. Removing it first, a failure part way (the mount point
 * itself) had already emptied it. The aside is journalled before it is made: after a SIGKILL the
 * next start puts it back if the new entry was not placed yet, and removes it if it was.
 */
async function replaceAside(temp: string, target: string): Promise<void> {
  const name = commitAsideName()
  const aside = join(dirname(target), name)
  let journal: StagedEntry | undefined
  try {
    journal = stagedEntries.track(dirname(target), name, await lstat(target, { bigint: true }), basename(target))
  } catch {
    // Best effort, as in replaceByExchange.
  }
  try {
    await rename(target, aside)
    try {
      await rename(temp, target)
    } catch (err) {
      await rename(aside, target)
      throw err
    }
    await removeReplaced(aside)
  } finally {
    journal?.done()
  }
}

/** Removes the entry the new one replaced; a failure still counts as placed. */
async function removeReplaced(at: string): Promise<void> {
  try {
    await rm(at, { recursive: true, force: true })
  } catch (err) {
    throw Object.assign(
      new ExecdError('RUNTIME_ERROR', `${reasonOf(err)}: the replaced entry is left as ${basename(at)} beside it`, {
        cause: err,
      }),
      { placed: true },
    )
  }
}

/** Removes what was staged and not placed (a new directory with its contents). */
async function unstage(placements: Placement[]): Promise<void> {
  for (const p of placements) {
    if (p.kind !== 'rename') continue
    await rm(p.temp, { recursive: true, force: true }).catch(() => {})
    p.staged.done()
  }
}

/**
 * The OS's reason without the paths node puts after it ("ENOSPC: no space left on device,
 * copyfile '<upper>' -> '<temp>'"): they are execd's own.
 */
function reasonOf(err: unknown): string {
  if (err instanceof ExecdError) return err.message
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code === 'string' && typeof e.message === 'string') return e.message.split(', ')[0] ?? e.code
  return 'an unexpected error'
}

/** The first paths of a list, so that a message of 10 000 changes stays short. */
const named = (paths: string[], max = 10) =>
  paths.length > max ? `${paths.slice(0, max).join(', ')} and ${paths.length - max} more` : paths.join(', ')

/** What a diff or commit says when execd's temp dir holding the layers is not the one it made. */
export const LAYERS_REMOVED = "the session's overlay layers were removed from execd's temp dir while it ran"

const failed = (message: string, cause: unknown) =>
  new ExecdError('RUNTIME_ERROR', `${message}; the session's changes stay in its overlay`, { cause })
