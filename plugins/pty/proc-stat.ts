/**
 * What /proc tells about terminal sessions: a terminal's foreground job, and every process
 * group in a session. A shell with job control moves each job into its own group, so "the
 * group" of the shell misses the job a user means when they press Ctrl-C, and a group kill
 * misses jobs.
 */
import { readFileSync } from 'node:fs'
import type { ProcInfo } from '../../core/proc-scan'

interface Stat {
  pgrp: number
  session: number
  /** Foreground process group of the controlling terminal (-1 or 0 when none). */
  tpgid: number
}

/** Fields after "pid (comm)": state ppid pgrp session tty_nr tpgid ...; null for a zombie. */
function parseStat(text: string): Stat | null {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ', 6)
  if (f[0] === 'Z' || f.length < 6) return null
  return { pgrp: Number(f[2]), session: Number(f[3]), tpgid: Number(f[5]) }
}

/** The foreground process group of `pid`'s controlling terminal, or null (one small read). */
export function foregroundGroup(pid: number): number | null {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))
    return stat && stat.tpgid > 0 ? stat.tpgid : null
  } catch {
    return null
  }
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
