/**
 * The C library this process runs on, for bun:ffi's dlopen. Its name differs by libc and
 * architecture (glibc's `libc.so.6`, musl's `/lib/ld-musl-x86_64.so.1` or
 * `libc.musl-aarch64.so.1`), and the release builds run on both: the one already mapped into
 * the process is the one to use, so it is read from /proc/self/maps rather than guessed.
 */
import type { FFIFunction, Library } from 'bun:ffi'
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

const LIBC_FILE =
  /^(?:libc\.so(?:\.\d+)*|libc-[\d.]+\.so|ld-musl-[\w-]+\.so(?:\.\d+)*|libc\.musl-[\w-]+\.so(?:\.\d+)*)$/

let found: string | undefined

/** The path of the mapped C library; glibc's soname when none is found (no /proc). */
export function libcFile(): string {
  if (found !== undefined) return found
  found = 'libc.so.6'
  try {
    for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
      const slash = line.indexOf('/')
      if (slash < 0) continue
      const path = line.slice(slash)
      if (LIBC_FILE.test(basename(path))) {
        found = path
        break
      }
    }
  } catch {}
  return found
}

type Ffi = typeof import('bun:ffi')

/**
 * The C library's `defs` through bun:ffi (required here, when first asked: nothing loads it at
 * start), with the module for its types and pointers; null where they are not to be had (not
 * Linux, no FFI, a symbol missing): the caller falls back.
 */
export function libcSymbols<Fns extends Record<string, FFIFunction>>(
  defs: (ffi: Ffi) => Fns,
): { symbols: Library<Fns>['symbols']; ffi: Ffi } | null {
  if (process.platform !== 'linux') return null
  try {
    const ffi = require('bun:ffi') as Ffi
    return { symbols: ffi.dlopen(libcFile(), defs(ffi)).symbols, ffi }
  } catch {
    return null
  }
}
