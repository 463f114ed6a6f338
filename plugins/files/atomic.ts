/**
 * Atomic replacement of a file: write a temp file beside it (in the anchor's held directory),
 * fsync, then rename over it. A failure or an abort at any point removes the temp file and
 * leaves the old file untouched. Staging and committing are separate so that an upload of
 * several files renames them only once the whole request has arrived.
 */
import { constants, fstatSync, writeSync, type BigIntStats } from 'node:fs'
import { lstat, open, statfs, unlink, type FileHandle } from 'node:fs/promises'
import type { Anchor } from '../../core/beneath/walk'
import { procPath } from '../../core/beneath/walk'
import { ExecdError, errnoOf } from '../../core/errors'
import { fsError, osMessage } from './errors'
import type { Ownership } from '../../core/owner-names'
import { entryAt, placeStaged, refuseKind, type Placed } from './place'
import { stagedEntries, tempNameFor, type StagedEntry } from '../../core/beneath/staging'

interface AtomicWriteOptions {
  /** Permission bits for the file; default: the replaced file's, else 0666 & ~umask. */
  mode?: number
  /** Owner/group to set; default: the replaced file's owner and group. */
  ownership?: Ownership
  /** Stops the write (checked before each chunk): the temp file is removed. */
  signal?: AbortSignal
  /** Whether the directory is on a local filesystem (`onLocalDisk`), if the caller knows already. */
  localDisk?: boolean
  /**
   * false: the file is not fsynced here; the caller calls `sync()` before placing it. An upload
   * and a replace sync and place their files together (ops/commit-staged.ts).
   */
  sync?: boolean
  /** The file the content was made from, as it was read: placing refuses a target changed since (place.ts). */
  from?: BigIntStats
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants

/** A file written beside its target, waiting to be renamed into place. */
export interface Staged {
  bytes: number
  /** fsyncs it, if `stageFile` was told not to (the file by its temp name, through the held directory). */
  sync(): Promise<void>
  /**
   * Looks at the target again, as it is now, before any file of the request is placed: a
   * directory or a FIFO made there since it was staged refuses the whole request.
   */
  check(): void
  /** Puts it in place, the replaced file kept until `settle` so that `undo` can put it back (place.ts). */
  place(): Placed
  /** Removes it (idempotent; once placed it does nothing). */
  discard(): Promise<void>
}

/**
 * Streams `chunks` into a temp file beside `anchor`'s entry, with the mode and owner it will
 * have. The iterator is consumed with backpressure (each chunk is on disk before the next).
 */
export async function stageFile(
  anchor: Anchor,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: AtomicWriteOptions = {},
): Promise<Staged> {
  // The entry as it is: its mode and owner carry over, and a directory cannot be replaced.
  const previous = await lstat(anchor.at).catch(() => undefined)
  refuseKind(previous, anchor)
  const tempName = tempNameFor(anchor.name)
  const temp = anchor.beside(tempName)
  let handle: FileHandle | undefined
  // Journalled before it exists (core/beneath/staging.ts Intent): opened through the pool, the
  // temp file stood a turn or more untracked, and a SIGKILL then left it for good.
  const intent = stagedEntries.intend(anchor.dir, tempName)
  try {
    handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  } catch (err) {
    intent.drop()
    throw noTempFile(err, anchor)
  }
  let bytes = 0
  let step = 'stat'
  let state: 'staged' | 'failed' | 'committed' = 'failed'
  let tracked: StagedEntry | undefined
  const discard = async () => {
    if (state !== 'committed') await unlink(temp).catch(() => {})
    await tracked?.done()
  }
  const flusher = new EarlyFlush(handle)
  try {
    // fstat from the event loop: through the pool it cost as much as the journal's symlink.
    tracked = intent.track(fstatSync(handle.fd, { bigint: true }))
    step = 'write'
    const writer = new Writer(handle, opts.localDisk ?? (await onLocalDisk(anchor.dir)))
    for await (const chunk of fromSource(chunks)) {
      opts.signal?.throwIfAborted()
      await writer.write(chunk)
      bytes += chunk.byteLength
      flusher.wrote(chunk.byteLength)
    }
    step = 'fsync'
    await flusher.settle()
    if (opts.sync !== false) await handle.sync()
    step = 'chmod'
    await handle.chmod(opts.mode ?? (previous?.isFile() ? rewrittenMode(previous.mode) : 0o666 & ~process.umask()))
    step = 'chown'
    const uid = opts.ownership?.uid ?? (previous?.isFile() ? previous.uid : undefined)
    const gid = opts.ownership?.gid ?? (previous?.isFile() ? previous.gid : undefined)
    if (uid !== undefined || gid !== undefined) await keepOwner(handle, uid, gid, opts.ownership === undefined, anchor)
    state = 'staged'
  } catch (err) {
    // The source's own failure (a client gone, a malformed body) is reported as it is.
    if (err instanceof SourceError) throw err.cause
    if (opts.signal?.aborted) throw opts.signal.reason
    throw fsError(err, step, anchor.raw)
  } finally {
    await flusher.settle().catch(() => {})
    await handle.close().catch(() => {})
    intent.drop()
    if (state === 'failed') await discard()
  }
  const place = (): Placed => {
    const placed = placeStaged(anchor, tempName, opts.from)
    state = 'committed'
    return {
      undo: () => {
        const back = placed.undo()
        if (back) state = 'staged'
        return back
      },
      settle: async () => {
        await placed.settle()
        await tracked?.done()
      },
    }
  }
  return {
    bytes,
    discard,
    async sync() {
      // A fresh descriptor still reports a writeback error nobody has seen (errseq): the one
      // that wrote it never fsynced, so none has.
      let again: FileHandle | undefined
      try {
        again = await open(temp, O_RDONLY | O_NOFOLLOW)
        await again.sync()
      } catch (err) {
        throw fsError(err, 'fsync', anchor.raw)
      } finally {
        await again?.close().catch(() => {})
      }
    },
    check: () => refuseKind(entryAt(anchor.at), anchor, 'rename'),
    place,
  }
}

/**
 * A temp file that could not be made beside the target. ENOENT from an O_CREAT in a directory
 * that is still there (held open, still linked) is a filesystem that makes no new files (/proc,
 * /sys): the target was answered 404 "no such file or directory", which it is not. A 403, as for
 * a read-only filesystem (EROFS).
 */
function noTempFile(err: unknown, anchor: Anchor): ExecdError {
  if (errnoOf(err) !== 'ENOENT' || fstatSync(anchor.dir).nlink === 0) return fsError(err, 'open', anchor.raw)
  return new ExecdError(
    'FORBIDDEN',
    `error accessing file: open ${anchor.raw}: its filesystem makes no new files ` +
      '(an upload writes a new file beside the target and renames it over)',
    { cause: err },
  )
}

/**
 * The mode a file keeps when new content replaces it (an upload without a mode, a replace): its
 * own, less what the kernel takes from a file written by a process without CAP_FSETID — setuid,
 * and setgid when the group may execute (setgid without it marks mandatory locking, not a
 * privilege). Cleared whatever execd's capabilities: a root writer in place would keep them
 * (the reference's O_TRUNC), but new content in a setuid file is a program that runs as its
 * owner, planted through a route that may not set those bits itself — an isolated session's
 * client, confined to its workspace, could otherwise rewrite a setuid file there. The temp
 * file's chown used to clear them as a side effect, which a failed chown (no CAP_CHOWN, NFS
 * root_squash) skipped: a 4755 file of nobody came back 4755 owned by root with the new bytes.
 */
function rewrittenMode(mode: number): number {
  const kept = mode & 0o7777 & ~0o4000
  return kept & 0o010 ? kept & ~0o2000 : kept
}

/**
 * Writes a staged file's slices. On a local filesystem a write only copies into the page
 * cache (about 0.3 ms per MiB), so it is made from the event loop: through the thread pool
 * each write cost a hand-off and a wake-up on both sides, and the pool thread read the slice
 * from the other core's cache — 20–25% of an upload's CPU. A write that still takes long
 * (the kernel throttling a process that dirties pages faster than the disk takes them, or
 * reclaiming memory) sends the rest of the file, and every file's writes for the next 10 s,
 * through the pool, so that a slow disk holds up other requests once in that time at most. So
 * do filesystems where a write may wait on a network or another process (NFS, FUSE, SMB, 9p:
 * anything not listed).
 */
const LOCAL_FILESYSTEMS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs (a container's root)
])
const SLOW_WRITE_MS = 20
/**
 * After a slow write, every file's writes go through the pool for this long: a disk that
 * throttles one upload throttles the next, and many small uploads (each under its own first
 * write) would otherwise each hold the event loop once.
 */
const SLOW_DISK_PAUSE_MS = 10_000
let directPausedUntil = 0

export async function onLocalDisk(dirFd: number): Promise<boolean> {
  const fs = await statfs(procPath(dirFd)).catch(() => undefined)
  return fs !== undefined && LOCAL_FILESYSTEMS.has(fs.type)
}

export class Writer {
  constructor(
    private readonly handle: FileHandle,
    private direct: boolean,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    let off = 0
    while (off < chunk.byteLength) {
      if (!this.direct || performance.now() < directPausedUntil) {
        off += (await this.handle.write(chunk, off, chunk.byteLength - off)).bytesWritten
        continue
      }
      const started = performance.now()
      off += writeSync(this.handle.fd, chunk, off, chunk.byteLength - off)
      const ended = performance.now()
      if (ended - started > SLOW_WRITE_MS) {
        this.direct = false
        directPausedUntil = ended + SLOW_DISK_PAUSE_MS
      }
    }
  }
}

/**
 * Starts writing a large file's pages to disk while the rest is still arriving: an fdatasync
 * runs in the background whenever FLUSH_BYTES more have been written and none is running, so
 * the final fsync finds only what came during the last one instead of the whole file (for a
 * 256 MiB upload 15–30 ms instead of 200–250 ms, which was a third of the upload; the disk now
 * works while the network does). One at a time, because each costs a journal commit and a disk
 * flush (~30 ms here whatever its size: every 8 MiB took twice the disk time of every 32 MiB).
 * It adds syncs, never removes one: the final fsync still decides, and a background failure is
 * kept and reported (Linux reports a writeback error once per descriptor, so a swallowed one
 * would let the final fsync pass).
 */
const FLUSH_BYTES = 16 << 20

class EarlyFlush {
  private sinceFlush = 0
  private inFlight: Promise<void> | undefined
  private failure: unknown

  constructor(private readonly handle: FileHandle) {}

  wrote(n: number): void {
    this.sinceFlush += n
    if (this.sinceFlush < FLUSH_BYTES || this.inFlight) return
    this.sinceFlush = 0
    this.inFlight = this.handle.datasync().then(
      () => void (this.inFlight = undefined),
      err => {
        this.failure ??= err
        this.inFlight = undefined
      },
    )
  }

  /** Waits for the background sync, if one runs; throws the first failure of any. */
  async settle(): Promise<void> {
    await this.inFlight
    if (this.failure !== undefined) throw this.failure
  }
}

class SourceError extends Error {}

async function* fromSource(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks
  } catch (err) {
    throw new SourceError('source failed', { cause: err })
  }
}

/**
 * Gives the temp file the owner asked for, or (`keeping`) the replaced file's. Either must be
 * applied or the write fails, the file left as it was: owner and group change only when given
 * (the contract), and a replaced file's owner that could not be kept (no CAP_CHOWN, an
 * unprivileged execd and another user's file, NFS root_squash) was silently execd's — a file of
 * nobody came back root's, and nobody could no longer write it. A chown to what the temp file
 * has already needs no privilege, so an unprivileged execd still rewrites its own files.
 */
async function keepOwner(
  handle: FileHandle,
  uid: number | undefined,
  gid: number | undefined,
  keeping: boolean,
  anchor: Anchor,
) {
  try {
    await handle.chown(uid ?? -1, gid ?? -1)
  } catch (err) {
    if (!keeping) throw err
    const owner = `uid ${uid ?? 'unchanged'}, gid ${gid ?? 'unchanged'}`
    const message = `${osMessage(err, 'chown', anchor.raw)}: the file's owner (${owner}) cannot be kept, and owner and group change only when given`
    throw new ExecdError('RUNTIME_ERROR', `error accessing file: ${message}`, { cause: err })
  }
}

/** fsync a held directory so the rename itself survives a crash. */
export async function syncDirectory(dirFd: number): Promise<void> {
  const handle = await open(procPath(dirFd), 'r').catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close().catch(() => {})
}
