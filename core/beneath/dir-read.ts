/**
 * A directory's names read from the descriptor the walk holds, with getdents64(2) through
 * syscall(2) (bun:ffi): a buffer's worth of entries at a time, the event loop let run between.
 * Bun's `readdir` took the directory by its `/proc/self/fd/N` path (an `openat`, the reads and
 * a `close` beside the descriptor already held) and handed all its names back at once: the
 * Dirent or Buffer of each of 100,000 names was made in one go on the main thread, which then
 * ran nothing else for 30 ms (names with types) to 110 ms (names as bytes).
 *
 * Each read is made at once, as the walk's opens and stats are (./walk-fds.ts): a file system
 * that hangs holds the loop in it as it would in those. Where there is no FFI or no number for
 * the architecture, `readdir` as before.
 */
import { readdir } from 'node:fs/promises'
import { asName, procPath, type Name } from './walk'
import { loadSyscall, syscallError } from '../syscall'
import { nextTurn } from '../timers'

/** One directory entry: its exact name (text when UTF-8) and whether it is a directory (undefined: unknown). */
export interface DirEntry {
  name: Name
  isDirectory: boolean | undefined
}

const SYS_GETDENTS64: Partial<Record<string, number>> = { x64: 217, arm64: 61 }
const SYS_LSEEK: Partial<Record<string, number>> = { x64: 8, arm64: 62 }
/** One read's buffer: about 800 short names, well under a millisecond of the loop. */
const BUFFER_BYTES = 32 * 1024
const DT_UNKNOWN = 0
const DT_DIR = 4

interface Calls {
  getdents(fd: number, buf: Buffer): number
  rewind(fd: number): number
  errno(): number
}

let calls: Calls | null | undefined

function load(): Calls | null {
  const getdents = SYS_GETDENTS64[process.arch]
  const lseek = SYS_LSEEK[process.arch]
  if (getdents === undefined || lseek === undefined) return null
  const sys = loadSyscall(['i64', 'ptr', 'i64'])
  if (!sys) return null
  return {
    getdents: (fd, buf) => sys.call(getdents, fd, buf, buf.length),
    // lseek(fd, 0, SEEK_SET): the offset argument is 0, so passing it as a null pointer is exact.
    rewind: fd => sys.call(lseek, fd, null, 0),
    errno: sys.errno,
  }
}

const failed = (errno: number) => syscallError(errno, 'reading a directory')

/**
 * Called with each entry's name, `bytes[from, end)` (the read's buffer: valid only during the
 * call, and no object made for it), and its kind (undefined: unknown).
 */
export type OnName = (bytes: Buffer, from: number, end: number, isDirectory: boolean | undefined) => void

/**
 * Each entry of the directory `fd` holds (opened for reading), `.` and `..` left out, from its
 * start however often it was read before, handed to `each` as read. The loop runs between reads.
 */
export async function readNames(fd: number, each: OnName): Promise<void> {
  calls ??= load()
  if (!calls) return readByPath(fd, each)
  const { getdents, rewind, errno } = calls
  if (rewind(fd) < 0) throw failed(errno())
  const buf = Buffer.allocUnsafe(BUFFER_BYTES)
  for (;;) {
    const n = getdents(fd, buf)
    if (n < 0) throw failed(errno())
    if (n === 0) return
    parseInto(buf, n, each)
    await nextTurn()
  }
}

/** Every entry of the directory `fd` holds, as `readNames` reads them. */
export async function readEntries(fd: number): Promise<DirEntry[]> {
  const out: DirEntry[] = []
  await readNames(fd, (bytes, from, end, isDirectory) =>
    out.push({ name: asName(bytes.subarray(from, end)), isDirectory }),
  )
  return out
}

/** The `linux_dirent64` records in the first `n` bytes of `buf`: ino 8, off 8, reclen 2, type 1, name NUL-ended. */
function parseInto(buf: Buffer, n: number, each: OnName): void {
  for (let at = 0; at < n;) {
    const reclen = buf.readUInt16LE(at + 16)
    const type = buf[at + 18]!
    const from = at + 19
    const end = buf.indexOf(0, from)
    at += reclen
    const len = end - from
    // `.` and `..`
    if (buf[from] === 0x2e && (len === 1 || (len === 2 && buf[from + 1] === 0x2e))) continue
    each(buf, from, end, type === DT_UNKNOWN ? undefined : type === DT_DIR)
  }
}

/** Bun's readdir by the descriptor's magic link: where getdents64 cannot be called. */
async function readByPath(fd: number, each: OnName): Promise<void> {
  const names = (await readdir(procPath(fd), { encoding: 'buffer' })) as unknown as Buffer[]
  for (const name of names) each(name, 0, name.length, undefined)
}
