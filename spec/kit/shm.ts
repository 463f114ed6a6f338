/** /dev/shm as the FIFO and temp-dir tests see it: whether it is a tmpfs, and execd's dirs on it. */
import { readdirSync, statfsSync } from 'node:fs'

export const SHM = '/dev/shm'

const TMPFS_MAGIC = 0x01021994

/** Whether /dev/shm is a tmpfs (execd puts its FIFO dirs there only then). */
export const shmIsTmpfs = (() => {
  try {
    return statfsSync(SHM).type === TMPFS_MAGIC
  } catch {
    return false
  }
})()

/** The names on /dev/shm of the dirs execd `pid` made with `prefix` (`execd-session-fifos`, …). */
export const shmDirsOf = (prefix: string, pid: number): string[] =>
  readdirSync(SHM).filter(n => n.startsWith(`${prefix}-${pid}-`))
