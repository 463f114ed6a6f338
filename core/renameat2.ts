/**
 * renameat2(2)'s flags, which Bun and Node do not expose: RENAME_NOREPLACE (a rename that
 * fails with EEXIST rather than replace what is at the destination: a check beforehand leaves a
 * window in which another process's new file is replaced and lost) and RENAME_EXCHANGE (two
 * entries swap names in one step). Called through syscall(2) by the architecture's number:
 * glibc before 2.28 has no renameat2 wrapper, and syscall(2) is in glibc and musl alike.
 *
 * `undefined` means the call is not to be had here (not Linux, an architecture without a
 * number, no FFI, ENOSYS, or a filesystem that refuses the flag with EINVAL): the caller falls
 * back to what it did without it.
 */
import { lstatSync, renameSync } from 'node:fs'
import { constants } from 'node:os'
import { loadSyscall, type Syscall } from './syscall'

const AT_FDCWD = -100
export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2
const SYS_RENAMEAT2 = ({ x64: 316, arm64: 276 } as Partial<Record<string, number>>)[process.arch] ?? -1
const { EEXIST, ENOSYS, EINVAL } = constants.errno

let libc: Syscall | null | undefined

function load(): Syscall | null {
  return SYS_RENAMEAT2 < 0 ? null : loadSyscall(['i64', 'ptr', 'i64', 'ptr', 'i64'])
}

const cString = (path: string | Buffer): Buffer =>
  Buffer.concat([typeof path === 'string' ? Buffer.from(path) : path, Buffer.alloc(1)])

/**
 * renameat2(from, to, flags), paths relative to the working directory: 0 when done, else the
 * errno; `undefined` when the call is not available for these paths (see above), in which case
 * nothing was renamed.
 */
export function renameWithFlags(from: string | Buffer, to: string | Buffer, flags: number): number | undefined {
  libc ??= load()
  if (!libc) return undefined
  if (libc.call(SYS_RENAMEAT2, AT_FDCWD, cString(from), AT_FDCWD, cString(to), flags) === 0) return 0
  const errno = libc.errno()
  // errno is read in a second call, after the runtime has run code of its own: should that have
  // left it 0, a failed rename must not read as done — the caller's fallback says what is true.
  if (errno === 0) return undefined
  if (errno === ENOSYS) libc = null
  // EINVAL also answers a directory moved into itself: the fallback's rename says so then.
  return errno === ENOSYS || errno === EINVAL ? undefined : errno
}

/**
 * rename(2) unless something is at `to` already (rename would replace it); false then.
 * renameat2(RENAME_NOREPLACE) makes that one step: a process of the container that creates `to`
 * after a check and before the rename had its file replaced, and lost. Where the flag is not to
 * be had (above), or the call fails otherwise (the rename below says why), the check
 * and the rename have no await between, so at least no other move of execd's takes the name in
 * between: two moves onto one free name both passed an awaited check, and the second replaced
 * the first (plugins/files/ops/move.ts).
 */
export function renameUnlessTaken(from: string | Buffer, to: string | Buffer): boolean {
  const errno = renameWithFlags(from, to, RENAME_NOREPLACE)
  if (errno === 0) return true
  if (errno === EEXIST) return false
  try {
    lstatSync(to)
    return false
  } catch {
    renameSync(from, to)
    return true
  }
}
