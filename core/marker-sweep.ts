/**
 * The one synchronous pass over /proc for an execd's environment markers (core/ownership.ts):
 * made by execd as it exits before its shutdown could finish, and by its keeper
 * (core/keeper-main.ts) once execd is dead.
 */
import { readFileSync } from 'node:fs'
import { listPids } from './procfs'

/** SIGKILLs every process but `except` whose environment has a variable starting `marker` (`NAME=value…`). */
export function killMarkedBy(marker: string, except: number): number {
  const wanted = Buffer.from(`\0${marker}`)
  let n = 0
  for (const pid of listPids() ?? []) {
    if (!pid || pid === except) continue
    try {
      if (Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]).includes(wanted)) {
        process.kill(pid, 'SIGKILL')
        n++
      }
    } catch {}
  }
  return n
}
