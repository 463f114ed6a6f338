/**
 * Where a session's input FIFOs are made (command-stream.ts: one per run). On ext4 a mkfifo
 * costs ~88 µs here and on tmpfs ~6 µs, of a run's ~300 µs of execd CPU; a memory filesystem
 * holds no data for a FIFO either. So /dev/shm where it is a tmpfs execd can write, in a private
 * dir of its own (0700, locked, swept after a killed execd as every OwnedTempDir is). Only for
 * shells that see execd's own /dev/shm: an isolated session's sandbox has a /dev/shm of its own,
 * and its FIFOs stay in the dir bound into it.
 */
import { accessSync, constants, statfsSync } from 'node:fs'
import { OwnedTempDir } from '../temp-dir'
import type { RemakeableDir } from './code-file'

const TMPFS_MAGIC = 0x01021994
const SHM = '/dev/shm'

let memoryRoot: string | null | undefined

function findMemoryRoot(): string | null {
  try {
    if (statfsSync(SHM).type !== TMPFS_MAGIC) return null
    accessSync(SHM, constants.W_OK | constants.X_OK)
    return SHM
  } catch {
    return null
  }
}

/** A dir for FIFOs on /dev/shm, or undefined where there is none to use (the caller's dir then). */
export function memoryFifoDir(prefix: string): OwnedTempDir | undefined {
  memoryRoot ??= findMemoryRoot()
  return memoryRoot ? new OwnedTempDir(prefix, memoryRoot) : undefined
}

/**
 * Where a shell's FIFOs are made: `path` each run, the dir looked at (an lstat: one another user
 * put at its name on /dev/shm once it was removed had the shell read its lines from a FIFO of
 * theirs); `remake` once a FIFO could not be made there, which makes the dir again where someone
 * removed it and gives the path to try once more.
 */
export interface FifoDir {
  path(): string
  remake?(): string
  /**
   * The name the shell is given for a dir `path()` gave, where execd makes FIFOs in it by another
   * (a held dir's `/proc/<execd>/fd/<n>/…`); the dir itself where absent.
   */
  shown?(dir: string): string
}

/** `fast` as long as it can be had, else `fallback`'s dir. */
export function fifoDirOf(fast: RemakeableDir | undefined, fallback: FifoDir): FifoDir {
  if (!fast) return fallback
  // One look for both: `remake` is the same look again, for a dir removed between the two.
  let fastAt: string | undefined
  const at = () => {
    try {
      return (fastAt = fast.ensure())
    } catch {
      return fallback.path()
    }
  }
  // The fast dir as reached (its name, or a held dir's path the shell reaches it by); else the fallback's.
  return { path: at, remake: at, shown: dir => (dir === fastAt ? dir : (fallback.shown?.(dir) ?? dir)) }
}
