/** A process group as one: signalled together, alive while any member runs. */
import { listPids, readStat } from './procfs'

/** Signals process group `pgid`; a vanished group is not an error. */
export function signalGroup(pgid: number, sig: NodeJS.Signals | number): boolean {
  try {
    process.kill(-pgid, sig)
    return true
  } catch {
    return false
  }
}

/**
 * True while a running (non-zombie) process of group `pgid` exists. Killed grandchildren are
 * re-parented to PID 1, which may take seconds to reap them; a zombie holds no resources and
 * cannot be killed further, so it does not count.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return liveMembers(pgid) > 0
}

function liveMembers(pgid: number): number {
  const pids = listPids()
  if (!pids) return 1 // no procfs: trust kill(2)
  let n = 0
  for (const pid of pids) {
    const stat = readStat(pid)
    if (stat?.pgid === pgid && stat.state !== 'Z') n++
  }
  return n
}
