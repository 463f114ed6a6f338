/**
 * mkfifo(3), which Bun and Node do not expose; a process for each (`mkfifo`) would cost a live
 * bash's every run a spawn. `false` where it cannot be had (no FFI, not Linux) or failed: the
 * caller does without.
 */
import { libcFile } from './libc'

let mkfifo: ((path: Buffer, mode: number) => number) | null | undefined

function load(): typeof mkfifo {
  if (process.platform !== 'linux') return null
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
    const { symbols } = dlopen(libcFile(), { mkfifo: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } })
    return (path, mode) => symbols.mkfifo(path, mode)
  } catch {
    return null
  }
}

/** Makes a FIFO at `path` (mode as umask lets it); true once made. */
export function makeFifo(path: string, mode = 0o600): boolean {
  mkfifo ??= load()
  return mkfifo ? mkfifo(Buffer.from(`${path}\0`), mode) === 0 : false
}
