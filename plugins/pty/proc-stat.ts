/**
 * What /proc tells about terminal sessions: a terminal's foreground job, and every process
 * group in a session. A shell with job control moves each job into its own group, so "the
 * group" of the shell misses the job a user means when they press Ctrl-C, and a group kill
 * misses jobs.
 */
import type { ProcInfo } from '../../core/proc-scan'
import { readStat } from '../../core/procfs'

/** The foreground process group of `pid`'s controlling terminal, or null (one small read). */
export function foregroundGroup(pid: number): number | null {
  const stat = readStat(pid)
  return stat && stat.state !== 'Z' && stat.tpgid > 0 ? stat.tpgid : null
}

/** Process groups with a live member, per session id, for the sessions in `sids` that have any. */
export function groupsBySession(table: readonly ProcInfo[], sids: ReadonlySet<number>): Map<number, Set<number>> {
  const groups = new Map<number, Set<number>>()
  for (const { pgid, sid, state } of table) {
    if (state === 'Z' || !sids.has(sid)) continue
    let set = groups.get(sid)
    if (!set) groups.set(sid, (set = new Set()))
    set.add(pgid)
  }
  return groups
}
