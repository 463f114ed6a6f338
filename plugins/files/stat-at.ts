/**
 * An entry's lstat as plain numbers, taken relative to its directory's held descriptor with
 * statx(2) (AT_SYMLINK_NOFOLLOW) into a buffer of our own. `lstatSync` of the entry's
 * `/proc/self/fd/N/<name>` path cost a listing 5-7 µs an entry (the kernel resolving the magic
 * link, then a BigIntStats of 14 BigInts made per entry) of the ~16 µs each FileInfo took; this
 * is one call and a few reads from the buffer. Where statx is not to be had (not Linux, no FFI,
 * a kernel before 4.11 or a seccomp filter refusing it), `lstatSync` of that path as before.
 */
import { lstatSync, type BigIntStats } from 'node:fs'
import { constants } from 'node:os'
import { loadSyscall, syscallError, type Syscall } from '../../core/syscall'
import { procPath, type Name } from '../../core/beneath/walk'

/** What a FileInfo says of an entry; times as whole seconds (floored) and nanoseconds 0..999,999,999. */
export interface EntryStat {
  mode: number
  uid: number
  gid: number
  ino: number
  size: number
  mtimeSec: number
  mtimeNsec: number
  ctimeSec: number
  ctimeNsec: number
}

const SYS_STATX: Partial<Record<string, number>> = { x64: 332, arm64: 291 }
const AT_SYMLINK_NOFOLLOW = 0x100
const STATX_BASIC_STATS = 0x7ff
/** struct statx is 256 bytes, laid out alike on every architecture. */
const result = Buffer.alloc(256)
/** A name is at most 255 bytes (NAME_MAX), then its NUL: one that fills this is not one. */
const nameBuffer = Buffer.alloc(512)
const { ENOSYS, EPERM } = constants.errno

let statx: Syscall | null | undefined

function load(): Syscall | null {
  return SYS_STATX[process.arch] === undefined ? null : loadSyscall(['i64', 'ptr', 'i64', 'i64', 'ptr'])
}

/** lstat of `name` in the directory held open as `dirFd`; throws as `lstatSync` does (`code` ENOENT…). */
export function statAt(dirFd: number, name: Name): EntryStat {
  statx ??= load()
  const length = !statx ? 0 : typeof name === 'string' ? nameBuffer.write(name, 0) : name.copy(nameBuffer, 0)
  if (!statx || length >= nameBuffer.length - 1) return entryStatOf(lstatSync(procPath(dirFd, name), { bigint: true }))
  nameBuffer[length] = 0
  if (statx.call(SYS_STATX[process.arch]!, dirFd, nameBuffer, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, result) < 0) {
    const errno = statx.errno()
    // Refused by the kernel or a seccomp filter, not by this entry: node:fs from now on.
    if (errno === ENOSYS || errno === EPERM || errno === 0) {
      statx = null
      return statAt(dirFd, name)
    }
    throw syscallError(errno, 'lstat')
  }
  return {
    uid: result.readUInt32LE(20),
    gid: result.readUInt32LE(24),
    mode: result.readUInt16LE(28),
    ino: u64(32),
    size: u64(40),
    // struct statx_timestamp: tv_sec s64, tv_nsec u32; mtime at 112, ctime at 96.
    mtimeSec: s64(112),
    mtimeNsec: result.readUInt32LE(120),
    ctimeSec: s64(96),
    ctimeNsec: result.readUInt32LE(104),
  }
}

/** 64-bit fields as numbers without a BigInt each (exact below 2⁵³, as `Number(bigint)` was). */
const u64 = (at: number): number => result.readUInt32LE(at + 4) * 2 ** 32 + result.readUInt32LE(at)
const s64 = (at: number): number => result.readInt32LE(at + 4) * 2 ** 32 + result.readUInt32LE(at)

const NS = 1_000_000_000n

/** A BigIntStats as an EntryStat: the seconds floored, so the nanoseconds of a time before 1970 are not negative. */
export function entryStatOf(s: BigIntStats): EntryStat {
  const mtimeSec = floorDiv(s.mtimeNs, NS)
  const ctimeSec = floorDiv(s.ctimeNs, NS)
  return {
    mode: Number(s.mode),
    uid: Number(s.uid),
    gid: Number(s.gid),
    ino: Number(s.ino),
    size: Number(s.size),
    mtimeSec: Number(mtimeSec),
    mtimeNsec: Number(s.mtimeNs - mtimeSec * NS),
    ctimeSec: Number(ctimeSec),
    ctimeNsec: Number(s.ctimeNs - ctimeSec * NS),
  }
}

const floorDiv = (a: bigint, b: bigint): bigint => (a % b < 0n ? a / b - 1n : a / b)
