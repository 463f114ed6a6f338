/**
 * The text of `/proc/<pid>/stat` (proc(5)) taken apart, with no import: the bash runtime's
 * modules (core/live-bash/stall.ts) load before execd listens, where node:fs may not yet
 * (core/layout.test.ts), and read the file themselves.
 */

export interface ProcStat {
  /** 'R', 'S', 'Z' (zombie: holds nothing, cannot be killed further), ... */
  state: string
  ppid: number
  pgid: number
  sid: number
  /** Foreground process group of the controlling terminal (-1 or 0 when none). */
  tpgid: number
  /** When it started, in clock ticks since boot: with the pid, names one process for good. */
  start?: number
  /** Its threads (field 20). */
  threads?: number
  /** CPU it has used, user and system, in clock ticks (fields 14 and 15). */
  cpu?: number
}

/**
 * The fields after "pid (comm)", so field n of proc(5) (1-based) is at index n - 3. The command
 * name may hold spaces and parentheses, so they start after the last ')'; none for text that is
 * not a stat line.
 */
export function statFields(text: string): string[] {
  const close = text.lastIndexOf(')')
  return close < 0 ? [] : text.slice(close + 2).split(' ')
}

/** state ppid pgrp session tty_nr tpgid (and starttime); undefined for text that is not a stat line. */
export function parseStat(text: string): ProcStat | undefined {
  const fields = statFields(text)
  const [state, ppid, pgid, sid, , tpgid] = fields
  if (state === undefined || tpgid === undefined) return undefined
  const stat: ProcStat = { state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), tpgid: Number(tpgid) }
  const start = fields[19] // field 22, starttime
  if (start !== undefined) stat.start = Number(start)
  const threads = fields[17] // field 20, num_threads
  if (threads !== undefined) stat.threads = Number(threads)
  const [utime, stime] = [fields[11], fields[12]] // fields 14 and 15
  if (utime !== undefined && stime !== undefined) stat.cpu = Number(utime) + Number(stime)
  return stat
}
