/**
 * An executable's pages in the page cache, put there the same way for every side of a start
 * row: dropped (written back first, then POSIX_FADV_DONTNEED) and read again whole with read(2).
 * How a file got into the cache decides the size of the folios the kernel keeps it in, and a
 * fault maps a whole folio around the faulting page: the same bytes freshly written by the
 * compiler, read by an earlier start, or read whole take different numbers of page faults to
 * start (bench/README.md, round 14: the start).
 */
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs'

const POSIX_FADV_DONTNEED = 4

const fadvise = (() => {
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
    return dlopen('libc.so.6', {
      posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 },
    }).symbols.posix_fadvise
  } catch {
    return undefined
  }
})()

/** Drops the file's pages from the page cache (those no process maps); false when it cannot. */
export function dropPages(path: string): boolean {
  if (!fadvise) return false
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd) // dirty pages are not dropped
    return fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) === 0
  } finally {
    closeSync(fd)
  }
}

/** Reads the whole file with 1 MiB read(2)s (readahead brings it in), discarding the bytes. */
export function readWhole(path: string): void {
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {}
  } finally {
    closeSync(fd)
  }
}

/** Drops the file's pages and reads it whole again: every executable cached alike. */
export function recache(path: string): boolean {
  const dropped = dropPages(path)
  readWhole(path)
  return dropped
}
