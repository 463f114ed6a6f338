/**
 * What /proc tells about a terminal session: its foreground job, and every process group in
 * it. A shell with job control moves each job into its own group, so "the group" of the
 * shell misses the job a user means when they press Ctrl-C, and a group kill misses jobs.
 */
import { readFileSync, readdirSync } from 'node:fs'

interface Stat {
  pgrp: number
  session: number
  /** Foreground process group of the controlling terminal (-1 or 0 when none). */
  tpgid: number
}

function readStat(pid: number | string): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // Fields after "pid (comm)": state ppid pgrp session tty_nr tpgid ...
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ', 6)
    if (f[0] === 'Z') return null
    return { pgrp: Number(f[2]), session: Number(f[3]), tpgid: Number(f[5]) }
  } catch {
    return null
  }
}

/** The foreground process group of `pid`'s controlling terminal, or null. */
export function foregroundGroup(pid: number): number | null {
  const stat = readStat(pid)
  return stat && stat.tpgid > 0 ? stat.tpgid : null
}

/** Every process group with a live member in session `sid` (the session leader's pid). */
export function sessionGroups(sid: number): number[] {
  const groups = new Set<number>()
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return [sid]
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue
    const stat = readStat(entry)
    if (stat?.session === sid) groups.add(stat.pgrp)
  }
  return [...groups]
}
