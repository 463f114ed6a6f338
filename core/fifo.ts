/**
 * mkfifo(3), which Bun and Node do not expose; a process for each (`mkfifo`) would cost a live
 * bash's every run a spawn. Made as mkfifo itself makes it, mknodat(2) with S_IFIFO, through
 * core/syscall's loader. `false` where it cannot be had (no FFI, not Linux, an architecture
 * without a number) or failed: the caller does without.
 */
import { loadSyscall, type Syscall } from './syscall'

const AT_FDCWD = -100
const S_IFIFO = 0o010000
const SYS_MKNODAT = ({ x64: 259, arm64: 33 } as Partial<Record<string, number>>)[process.arch] ?? -1

let mknodat: Syscall | null | undefined

/** Makes a FIFO at `path` (mode as umask lets it); true once made. */
export function makeFifo(path: string, mode = 0o600): boolean {
  mknodat ??= SYS_MKNODAT < 0 ? null : loadSyscall(['i64', 'ptr', 'i64', 'i64'])
  return mknodat ? mknodat.call(SYS_MKNODAT, AT_FDCWD, Buffer.from(`${path}\0`), S_IFIFO | mode, 0) === 0 : false
}
