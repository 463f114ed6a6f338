/**
 * A private copy of bytes start…end of an open file, made before a large body is answered.
 *
 * A file body goes out with sendfile(2), which queues the file's own page-cache pages on the
 * socket by reference; a truncation zeroes the part of a page past the new end, pages already
 * queued included, so a client read zeros where the file had data, and a body queued whole
 * before the cut was a clean 200 of the full length (kernel 6.18 on ext4, whose large folios make
 * that part up to megabytes: 12 of 12 downloads of a 64 MiB file cut to 3 MiB + 4097 as the
 * answer started; python's os.sendfile and nginx's `sendfile on` do the same, nginx's
 * `sendfile off`, which copies, did not). Bun keeps a Content-Length only for a buffer or a
 * file (a ReadableStream is sent chunked), so the bytes are copied into a file nobody else can
 * open (O_TMPFILE, unnamed, 0600, in TMPDIR) and that one is sent. A truncation during the copy
 * can zero what it copies past the new end: the file's size once the copy is done says how much
 * of the copy the file still held. A truncation and a regrow both inside the copy pass that check
 * (the size is back, the copy holds zeros or the old and the new bytes side by side): the file's
 * modification and status-change times, which the kernel tells apart for changes after a stat
 * (multigrain timestamps), say it changed, and the copy is made again, a bounded number of times.
 */
import { type BigIntStats, constants } from 'node:fs'
import { type FileHandle, open, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'

/** open(2)'s O_TMPFILE: __O_TMPFILE (the same on every Linux architecture) with O_DIRECTORY. */
export const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY
/** A copy may take at most this share of TMPDIR's free space: it must not fill the disk. */
const FREE_SHARE = 4
/** The buffer of a copy of part of a file (a Range, a log from a cursor). */
const CHUNK = 1024 * 1024
/**
 * Copies made of a file that changed during each: a file written all the time (a command's log
 * being downloaded) must not be copied for ever; the last copy is answered with what its size
 * check allows.
 */
const MAX_COPIES = 3

/** `/proc/self/fd/<fd>`: the file the descriptor holds, whatever its name is now. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`

/** statfs(2) f_type of the filesystems whose files are memory: tmpfs, ramfs. */
export const IN_MEMORY = new Set([0x01021994, 0x858458f6])

/**
 * Whether a copy in TMPDIR would be memory rather than disk: a tmpfs /tmp, a Kubernetes
 * emptyDir of medium Memory. Clients that ask for large files and never read then hold their
 * copies in RAM, so the caller counts them as memory.
 */
export async function copiesInMemory(): Promise<boolean> {
  try {
    return IN_MEMORY.has((await statfs(tmpdir())).type)
  } catch {
    return false
  }
}

export interface Snapshot {
  /** The private copy; the caller closes it. */
  handle: FileHandle
  /** Bytes of the copy that the file still held once the copy was done: at most end - start. */
  length: number
}

/**
 * Copies bytes start…end of `source`; undefined when no copy could be made here (no O_TMPFILE,
 * TMPDIR missing, read-only, full or too small for it): the caller sends from `source` itself.
 */
export async function snapshot(source: FileHandle, start: number, end: number): Promise<Snapshot | undefined> {
  let handle: FileHandle | undefined
  try {
    const dir = tmpdir()
    const free = await statfs(dir)
    if ((end - start) * FREE_SHARE > free.bavail * free.bsize) return undefined
    handle = await open(dir, O_TMPFILE | constants.O_RDWR, 0o600)
    let before = await source.stat({ bigint: true })
    for (let copies = 1; ; copies++) {
      // A whole file: Bun copies it with copy_file_range(2) off the event loop, 2x a read/write loop.
      const copied =
        start === 0 && end >= before.size
          ? await Bun.write(Bun.file(fdPath(handle.fd)), Bun.file(fdPath(source.fd)))
          : await copyPart(source, handle, start, end)
      const after = await source.stat({ bigint: true })
      if (copies >= MAX_COPIES || unchanged(before, after)) {
        const length = Math.min(copied, Number(after.size) - start, end - start)
        return { handle, length: Math.max(0, length) }
      }
      before = after
      await handle.truncate(0)
    }
  } catch {
    await handle?.close().catch(() => {})
    return undefined
  }
}

/** Whether nothing wrote to or truncated the file between two stats of it. */
const unchanged = (a: BigIntStats, b: BigIntStats): boolean =>
  a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs

/** Bytes start…end (fewer if the file ends first) into `copy` from 0; how many. */
async function copyPart(source: FileHandle, copy: FileHandle, start: number, end: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, end - start))
  let done = 0
  while (start + done < end) {
    const { bytesRead } = await source.read(buf, 0, Math.min(buf.length, end - start - done), start + done)
    if (bytesRead === 0) break
    let written = 0
    while (written < bytesRead)
      written += (await copy.write(buf, written, bytesRead - written, done + written)).bytesWritten
    done += bytesRead
  }
  return done
}
