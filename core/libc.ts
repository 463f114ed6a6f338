/**
 * The C library this process runs on, for bun:ffi's dlopen. Its name differs by libc and
 * architecture (glibc's `libc.so.6`, musl's `/lib/ld-musl-x86_64.so.1` or
 * `libc.musl-aarch64.so.1`), and the release builds run on both: the one already mapped into
 * the process is the one to use, so it is read from /proc/self/maps rather than guessed.
 */
import type { FFIFunction, Library } from 'bun:ffi'

const LIBC_FILE =
  /^(?:libc\.so(?:\.\d+)*|libc-[\d.]+\.so|ld-musl-[\w-]+\.so(?:\.\d+)*|libc\.musl-[\w-]+\.so(?:\.\d+)*)$/

const GLIBC = 'libc.so.6'

let found: string | undefined

/**
 * The path of the mapped C library; glibc's soname when none is found (no /proc). node:fs is
 * required here, when first asked: a module that imports this one (the reaper, on serve's start)
 * loads no built-in with it (core/layout.test.ts).
 */
export function libcFile(): string {
  if (found !== undefined) return found
  found = GLIBC
  try {
    const { readFileSync } = require('node:fs') as typeof import('node:fs')
    for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
      const slash = line.indexOf('/')
      if (slash < 0) continue
      const path = line.slice(slash)
      if (LIBC_FILE.test(path.slice(path.lastIndexOf('/') + 1))) {
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
 * Linux, no FFI, a symbol missing): the caller falls back. The one place execd opens the C
 * library (core/layout.test.ts). glibc's soname is tried first: on glibc it is the library
 * mapped already, found without reading /proc/self/maps, which a PID 1 start's reaper would
 * otherwise do before listening; musl has none, and its mapped file is looked up then.
 */
export function libcSymbols<Fns extends Record<string, FFIFunction>>(
  defs: (ffi: Ffi) => Fns,
): { symbols: Library<Fns>['symbols']; ffi: Ffi } | null {
  if (process.platform !== 'linux') return null
  try {
    const ffi = require('bun:ffi') as Ffi
    const fns = defs(ffi)
    try {
      return { symbols: ffi.dlopen(GLIBC, fns).symbols, ffi }
    } catch {
      return libcFile() === GLIBC ? null : { symbols: ffi.dlopen(libcFile(), fns).symbols, ffi }
    }
  } catch {
    return null
  }
}

/**
 * libcSymbols for a caller that types its calls by an interface `Calls` (typed arrays where
 * bun:ffi says pointer): `defs` must name each of its members, checked when compiled. Cast from
 * the symbols, an interface hid a call left out of the list: the merge of stop 51 dropped
 * getsockopt from core/connection-fd.ts's, and the first look of the stall rule
 * (core/send-stall.ts) at any answer sent for over a second threw, ending execd.
 */
export function libcCalls<Calls>(defs: (ffi: Ffi) => { [K in keyof Calls]: FFIFunction }): Calls | null {
  return (libcSymbols(defs as (ffi: Ffi) => Record<string, FFIFunction>)?.symbols ?? null) as Calls | null
}
