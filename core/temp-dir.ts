/**
 * Private temp dirs (`<prefix>-<pid>-XXXXXXXX`), each with a lock held by its owner: a unix
 * socket the owner listens on (`.owner.sock`). Removed on close as usual; a dir left by an
 * execd that was killed (SIGKILL, OOM) is removed the next time any execd makes one with the
 * same prefix — but only once connecting to its socket is refused, which proves nobody holds
 * it. A PID test cannot prove that: two execd sharing a TMPDIR from different PID namespaces
 * see each other's pids as dead, while a path socket answers across namespaces.
 */
import type { SocketListener } from 'bun'
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { errnoOf, errnoText, ExecdError, withFdErrno } from './errors'
import { forgetAtExit, removeAtExit } from './exit-removals'
import { HeldDir } from './held-dir'
import { keeperKeepsDir, keeperRemovesDir } from './keeper'
import { OWNER_SOCKET, sweepStale, type OnStale } from './stale-dirs'
import { tempDiskFull, tempDiskFullText } from './temp-disk'

export interface TempDirOptions {
  /**
   * Runs on a stale dir of this prefix (its owner is gone) before the sweep removes it: for
   * what the dir only names (a journal of entries its owner made elsewhere).
   */
  onStale?: OnStale
  /**
   * Removed as execd exits if still open (core/exit-removals.ts): a one-shot verb ended by a
   * signal exits without awaiting what it was doing (`execd exec go` stopped mid kernel build
   * left its build dir).
   */
  removeAtExit?: boolean
}

export class OwnedTempDir {
  /** Known before the dir exists: names in it can be handed out before the first write. */
  readonly path: string
  private lock: SocketListener<undefined> | undefined
  private closed = false
  /** The dir as made, held open (core/held-dir.ts): what stands at its path later is this dir only if it is the same inode. */
  private made: HeldDir | undefined

  constructor(
    readonly prefix: string,
    readonly root = tmpdir(),
    private readonly opts: TempDirOptions = {},
  ) {
    const suffix = crypto.randomUUID().slice(0, 8)
    this.path = join(root, `${prefix}-${process.pid}-${suffix}`)
  }

  /**
   * The dir, made now if it does not exist (first use, or someone removed it: a command can
   * `rm -rf $TMPDIR/execd-*`). Throws when it cannot be made (a full or read-only disk).
   */
  ensure(): string {
    if (this.lock && this.intact()) return this.path
    const first = !this.lock
    this.lock?.stop(true)
    this.lock = undefined
    // Made under a staging name and renamed once locked: a sweeper never sees the owned name
    // without its socket, and judges the staging name by the same lock (sweepStale).
    const staging = makeStaging(this.root, this.prefix)
    let lock: SocketListener<undefined> | undefined
    let made: HeldDir | undefined
    try {
      made = new HeldDir(staging, this.path)
      // Bound through the held descriptor: a socket's path has 107 bytes at most, and under a
      // TMPDIR of ~70 characters or more (a nested scratch dir) the full path was refused (a
      // 500 "Failed to listen at …" for every session, code file and context's dir).
      lock = Bun.listen({ unix: made.beneath(OWNER_SOCKET), socket: { open: s => void s.end(), data() {} } })
      lock.unref()
      removeForeign(this.path)
      renameSync(staging, this.path)
      this.made?.close()
      this.made = made
      this.lock = lock
    } catch (err) {
      // Asked before the held descriptor goes: at the fd limit it is the one a probe would find.
      const said = withFdErrno(err)
      // The lock before it: it is bound (and its stop unlinks) through that descriptor, whose
      // number the next file opened would get once closed.
      lock?.stop(true)
      made?.close()
      removeStaging(staging)
      throw fullDiskSaid(said, this.root)
    }
    this.closed = false
    if (this.opts.removeAtExit) removeAtExit(this, () => this.close())
    // Removed by the keeper if execd is SIGKILLed (core/keeper.ts); not a journal, whose entries
    // elsewhere the next execd's sweep removes first.
    if (!this.opts.onStale) keeperRemovesDir(this.path)
    if (first) {
      const sweep = sweepStale(this.prefix, this.root, this.path, this.opts.onStale).finally(() => sweeps.delete(sweep))
      sweeps.add(sweep)
    }
    return this.path
  }

  /**
   * Whether the entry at the path is still the dir made: a directory, the same inode, this
   * user's. Once something removed it (a temp cleaner, a command's `rm -rf $TMPDIR/execd-*`),
   * another user of a shared TMPDIR could put a dir or a link of theirs at the name, which is
   * known from the listing: execd wrote into it and ran what it held (a driver, a code file).
   * The uid too, since a freed inode's number is given to the next entry made.
   */
  intact(): boolean {
    return this.made?.intact() ?? false
  }

  /**
   * The dir as made, held open (core/held-dir.ts): made by `ensure()` if need be. What is made,
   * written or read beneath its `at` is in this dir even where another's stands at its name by
   * then. A dir made again (`ensure()` found it removed) is another: a caller that keeps names
   * beneath one opens them (`new HeldDir(held.beneath(name), join(path, name))`) and holds them.
   */
  held(): HeldDir {
    this.ensure()
    return this.made!
  }

  /**
   * Removes the dir and lets go of its lock. Idempotent. Emptied through the descriptor held
   * since it was made, its name removed only while it is still this dir (core/held-dir.ts):
   * another user's dir made at the name after a cleaner removed execd's was removed with their
   * files, as root, and a look at the name before a removal by name left the moment between.
   */
  close(): void {
    this.release()?.removeSync()
  }

  /**
   * close(), with the removal on the thread pool: for a dir whose content a client chose (a go
   * context's module, which its cells can fill), which rmSync walked on the event loop (30,000
   * files: 0.9 s of every request's time). Dropped by an exit before it is done, the dir has no
   * lock any more, and the next execd's sweep takes it. Rejects when it could not be emptied.
   */
  async closeAsync(): Promise<void> {
    await this.release()?.remove()
  }

  /** Lets go of the lock, and hands over the dir held, still open, to be removed: once only. */
  private release(): HeldDir | undefined {
    if (this.closed) return undefined
    this.closed = true
    forgetAtExit(this)
    keeperKeepsDir(this.path)
    this.lock?.stop(true)
    this.lock = undefined
    const made = this.made
    this.made = undefined
    return made
  }
}

/**
 * Errors of a temp dir that is not there or not execd's to write (TMPDIR unset to something
 * missing, a file, read-only, another user's): the server's trouble, not the request's. As raw
 * errno errors they read as the client's: a session's start was a 404 `FILE_NOT_FOUND` "file not
 * found. ENOENT: … mkdtemp '/missing/.execd-sessions-…'" and with TMPDIR a file a 400.
 */
const UNUSABLE_ROOT = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ELOOP', 'ENAMETOOLONG'])

function makeStaging(root: string, prefix: string): string {
  try {
    return mkdtempSync(join(root, `.${prefix}-`))
  } catch (err) {
    const code = errnoOf(err)
    if (!code || !UNUSABLE_ROOT.has(code)) throw fullDiskSaid(err, root)
    throw new ExecdError(
      'RUNTIME_ERROR',
      `execd's temp dir ${root} cannot be used: ${errnoText(err)} (${code}); set TMPDIR to a writable directory`,
      { cause: err },
    )
  }
}

/**
 * A full temp disk (bytes or inodes) said as such. As a raw errno error a session's start was a
 * 500 "ENOSPC: no space left on device, mkdtemp '/tmp/.execd-sessions-luHVhc'": a private name
 * the user can do nothing with, and on a disk out of inodes with megabytes free.
 */
function fullDiskSaid(err: unknown, root: string): unknown {
  // Only a dir under TMPDIR: an upload's staging dir (on its destination's disk) and the FIFO dirs
  // on /dev/shm keep their errno, which names their disk, not execd's TMPDIR.
  if (!tempDiskFull(err)) return err
  return new ExecdError(
    'RUNTIME_ERROR',
    `execd could not make a private dir in its temp dir: ${tempDiskFullText(root)}; free space there, or give ` +
      "execd's TMPDIR a larger disk",
    { cause: err },
  )
}

/**
 * Takes away what another made at an owned dir's name once it was removed: a full dir or a link
 * there refused the rename, and the dir could not be made again. The walk opens each dir beneath
 * its parent without following a link, so nothing outside it is touched.
 */
function removeForeign(path: string): void {
  try {
    lstatSync(path)
  } catch {
    return
  }
  rmSync(path, { recursive: true, force: true })
}

/**
 * Removes a staging dir that never became the owned one. By unlink and rmdir, which need no file
 * descriptor: the usual failure here is EMFILE, and rmSync's walk, which opens the dir, failed
 * the same way, so each refused session or command left an empty `.execd-*` dir behind.
 */
function removeStaging(staging: string): void {
  try {
    unlinkSync(join(staging, OWNER_SOCKET))
  } catch {}
  try {
    rmdirSync(staging)
  } catch {
    rmSync(staging, { recursive: true, force: true })
  }
}

/** A made temp dir (the sessions' and a CLI's). */
export function ownedTempDir(prefix: string, root = tmpdir()): OwnedTempDir {
  const dir = new OwnedTempDir(prefix, root)
  dir.ensure()
  return dir
}

/** Sweeps started by `ensure()` and not yet over. */
const sweeps = new Set<Promise<unknown>>()

/**
 * Resolves once every sweep started so far is over. A CLI verb waits for this before it exits:
 * it is over in milliseconds, and a sweep left running was cut off by the exit before its
 * first probe answered, so a killed run's dir stayed however many runs came after it. (A sweep
 * never takes a live run's dir, awaited or not: that run holds its lock.)
 */
export async function sweepsDone(): Promise<void> {
  await Promise.all(sweeps)
}

/**
 * The private directory of this user's execd caches (the java helper, the go kernel and build
 * cache): `$TMPDIR/execd-<uid>`, created 0700, refused if another user owns it or may write it.
 */
export function userCacheDir(root = tmpdir()): string {
  const dir = join(root, `execd-${process.getuid?.() ?? 'user'}`)
  // A missing TMPDIR is made as `mkdir -p` would (umask's mode), not 0700 like the cache dir
  // itself: a private temp root made by root shut every other user's execd out of it.
  mkdirSync(root, { recursive: true })
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 })
  const st = lstatSync(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a private directory of this user; remove it or set TMPDIR`)
  }
  return dir
}
