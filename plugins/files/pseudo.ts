/**
 * Regular files of the kernel's pseudo filesystems (procfs, sysfs, cgroupfs, ...), whose stat
 * size is not their content: `/proc/cpuinfo` says 0 and holds kilobytes, a sysfs attribute says
 * 4096 (a page) and holds a few bytes. Answered by that size, a download of `/proc/cpuinfo` was
 * empty and one of a sysfs file had a Content-Length of 4096 over a 23-byte body. Their content
 * is read instead, up to a cap, into a private copy whose size is the truth for HEAD, GET, Range
 * and /files/info alike.
 *
 * Reads never wait: the file is opened O_NONBLOCK and EAGAIN counts as its end. /proc/kmsg (and
 * tracefs' trace_pipe) block a plain read until the kernel logs something, which pinned a
 * thread-pool thread for ever; with O_NONBLOCK they answer at once with what is queued.
 */
import { constants, type PathLike } from 'node:fs'
import { type FileHandle, open, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { ExecdError, errnoOf } from '../../core/errors'
import { fdPath } from '../../core/file-snapshot'
import { fsError } from './errors'

/** statfs(2) f_type: proc, sysfs, cgroup, cgroup2, debugfs, tracefs, securityfs, configfs. */
const PSEUDO = new Set([0x9fa0, 0x62656572, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x73636673, 0x62656570])

/**
 * The most of a pseudo-file read. /proc/kallsyms, the largest common one, is 5.4 MB here;
 * /proc/<pid>/pagemap (8 bytes per page of the address space, stat size 0) is refused rather
 * than copied.
 */
const PSEUDO_MAX = 16 * 1024 * 1024

const CHUNK = 64 * 1024

/** open(2)'s O_TMPFILE: __O_TMPFILE with O_DIRECTORY (as core/file-snapshot.ts). */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY

/**
 * Whether `path` (a /proc/self/fd link is followed) is a regular file of a pseudo filesystem
 * whose size says nothing: 0 (procfs, cgroupfs) or a page (sysfs). Only those are asked about:
 * a download of any other file costs no statfs.
 */
export async function isPseudoFile(
  path: PathLike,
  stats: { isFile(): boolean; size: number | bigint },
): Promise<boolean> {
  const size = Number(stats.size)
  if (!stats.isFile() || (size !== 0 && size !== 4096)) return false
  try {
    return PSEUDO.has((await statfs(path)).type)
  } catch {
    return false
  }
}

/**
 * Files whose read takes what it returns away (the kernel log's reader, the trace pipes): a
 * HEAD or /files/info must not read them, so their length is unknown there (0, the stat's).
 */
export const consumedByReading = (path: string): boolean => /^\/proc\/kmsg$|\/trace_pipe(_raw)?$/.test(path)

const tooLarge = (raw: string) =>
  new ExecdError(
    'PAYLOAD_TOO_LARGE',
    `${raw} is a kernel pseudo-file holding more than ${PSEUDO_MAX} bytes: it is not answered (read it with a command)`,
  )

/** Non-blocking reads of `handle` into `take` until its end, EAGAIN, or past the cap; the bytes read. */
async function drain(handle: FileHandle, raw: string, take: (chunk: Buffer) => Promise<void>): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK)
  let total = 0
  for (;;) {
    let n: number
    try {
      n = (await handle.read(buf, 0, CHUNK, null)).bytesRead
    } catch (err) {
      if (errnoOf(err) === 'EAGAIN') return total
      // The file opened; its read failed (/proc/<pid>/mem at an unmapped address: EIO). The
      // caller's wrapping would name the open.
      throw fsError(err, 'read', raw)
    }
    if (n === 0) return total
    total += n
    if (total > PSEUDO_MAX) throw tooLarge(raw)
    await take(buf.subarray(0, n))
  }
}

const openNonBlocking = (path: PathLike) =>
  open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW)

/**
 * The content of the pseudo-file open as `entryFd` (an O_PATH descriptor), copied into an
 * unnamed private file in TMPDIR and rewound: the caller answers from it as from any file.
 */
export async function pseudoCopy(entryFd: number, raw: string): Promise<FileHandle> {
  const source = await open(fdPath(entryFd), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  let copy: FileHandle | undefined
  try {
    copy = await open(tmpdir(), O_TMPFILE | constants.O_RDWR, 0o600)
    const into = copy
    let at = 0
    await drain(source, raw, async chunk => {
      let written = 0
      while (written < chunk.length)
        written += (await into.write(chunk, written, chunk.length - written, at + written)).bytesWritten
      at += chunk.length
    })
    return copy
  } catch (err) {
    await copy?.close().catch(() => {})
    throw err
  } finally {
    await source.close().catch(() => {})
  }
}

/**
 * The length /files/info reports for a pseudo-file: what a read of it gives now, as a download
 * would send; the stat's size where it cannot be read (write-only attributes, no permission),
 * is over the cap, or is consumed by reading.
 */
export async function pseudoLength(at: PathLike, path: string, statSize: number): Promise<number> {
  if (consumedByReading(path)) return statSize
  let handle: FileHandle | undefined
  try {
    handle = await openNonBlocking(at)
    return await drain(handle, path, async () => {})
  } catch {
    return statSize
  } finally {
    await handle?.close().catch(() => {})
  }
}
