/**
 * A start that failed because execd's temp disk is full. A go or java context builds and caches
 * its helper under TMPDIR (core/temp-dir.ts userCacheDir); on a full disk its 500 quoted the
 * failed write, which names execd's private build dir (`$TMPDIR/execd-0/go-kernel-build-<pid>-…/go.mod`),
 * a directory removed as the answer goes out and nothing the user can act on.
 */
import { statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { sep } from 'node:path'
import { errnoOf } from './errors'

const FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT'])
/** A compiler's (go build, javac) own words for the same, in the text it printed. */
const FULL_TEXT = /no space left on device|disk quota exceeded/i

/** Whether `err` (or a cause of it) is a full disk under TMPDIR. */
export function tempDiskFull(err: unknown): boolean {
  const root = tmpdir()
  let cause = err
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = errnoOf(cause)
    if (code && FULL_ERRNO.has(code)) {
      const path = (cause as NodeJS.ErrnoException).path
      return path === undefined || path === root || path.startsWith(root + sep)
    }
    // A tool's failure carries no errno: it wrote only under its build dir in TMPDIR.
    if (FULL_TEXT.test(cause.message)) return true
    cause = cause.cause
  }
  return false
}

/**
 * "no space left on the temp disk (/tmp, 0 bytes free)": what the user can act on. A disk out of
 * inodes says so: its ENOSPC came with megabytes free, and "8388608 bytes free" read as a wrong
 * figure rather than as too many files.
 */
export function tempDiskFullText(root = tmpdir()): string {
  let free = ''
  try {
    const s = statfsSync(root)
    free = s.files > 0 && s.ffree === 0 ? ', no inode free: too many files' : `, ${s.bavail * s.bsize} bytes free`
  } catch {} // the message stands without the figure
  return `no space left on the temp disk (${root}${free})`
}
