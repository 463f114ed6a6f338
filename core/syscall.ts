/**
 * syscall(2) through bun:ffi, for the calls Bun and Node do not expose as this process needs
 * them (getdents64 on a held descriptor, statx into a buffer of its own). Called by the
 * architecture's number: syscall(2) is in glibc and musl alike, where a wrapper may not be.
 * `null` where it is not to be had (not Linux, no FFI): the caller falls back to node:fs.
 */
import { constants } from 'node:os'
import { libcSymbols } from './libc'

type ArgKind = 'i64' | 'ptr'

export interface Syscall {
  /** The call's result: −1 on failure, `errno()` then says why. */
  call(...args: (number | Buffer | null)[]): number
  errno(): number
}

/** syscall(2) whose arguments after the number are of `kinds`; `null` where there is none. */
export function loadSyscall(kinds: readonly ArgKind[]): Syscall | null {
  const c = libcSymbols(({ FFIType }) => ({
    syscall: { args: [FFIType.i64, ...kinds.map(k => FFIType[k])], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }))
  if (!c) return null
  const { symbols, ffi } = c
  const syscall = symbols.syscall as (...args: unknown[]) => number | bigint
  return {
    call: (...args) => Number(syscall(...args)),
    errno: () => {
      const at = symbols.__errno_location()
      return at ? ffi.read.i32(at, 0) : 0
    },
  }
}

/** errno → its name (ENOENT…), as node:fs names the code of its errors. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]))

/** An error as node:fs would throw for `errno`: `code` its name, `errno` negative. */
export function syscallError(errno: number, what: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`
  return Object.assign(new Error(`${code}: ${what} failed`), { code, errno: -errno })
}
