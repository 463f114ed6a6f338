/**
 * Reading /proc (proc(5)) in one place: the process ids it lists and the fields of
 * `/proc/<pid>/stat` execd needs — state, parent, group, session, the terminal's foreground
 * group. Every owner (process groups, the ownership net, the shared scanner, terminals) reads
 * through here.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'

interface ProcStat {
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
  return stat
}

/** `pid`'s stat in one small synchronous read, or undefined once it has gone. */
export function readStat(pid: number | string): ProcStat | undefined {
  const text = readSmall(`/proc/${pid}/stat`)
  return text === undefined ? undefined : parseStat(text)
}

const small = Buffer.alloc(4096)

/**
 * The start of a small file of procfs or cgroupfs (its first 4 KiB), or undefined if it cannot
 * be read. Such files report no size, so readFileSync reads them into a fresh 256 KiB buffer,
 * in five syscalls; this reads into one kept buffer, in three.
 */
export function readSmall(path: string): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    return small.toString('latin1', 0, readSync(fd, small, 0, small.length, null))
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** The start of a small procfs or cgroupfs file open at `fd`, read again from its start (pread at 0 makes such a file anew). */
export function readSmallAt(fd: number): string {
  return small.toString('latin1', 0, readSync(fd, small, 0, small.length, 0))
}

/** readStat without blocking the event loop. */
export async function readStatAsync(pid: number | string): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return undefined
  }
}

const pidsOf = (names: string[]) => names.filter(n => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).map(Number)

/** The process ids /proc lists now; undefined without a procfs. */
export function listPids(): number[] | undefined {
  try {
    return pidsOf(readdirSync('/proc'))
  } catch {
    return undefined
  }
}

/** listPids without blocking the event loop. */
export async function listPidsAsync(): Promise<number[] | undefined> {
  try {
    return pidsOf(await readdir('/proc'))
  } catch {
    return undefined
  }
}

/** The first child of `pid` (its oldest, from /proc/<pid>/task/<pid>/children), or by parent where the kernel lacks that file. */
export function firstChildOf(pid: number): number | undefined {
  try {
    const [first] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
    if (first) return Number(first)
  } catch {
    // A kernel without CONFIG_PROC_CHILDREN: look for it by parent.
    return listPids()?.find(p => readStat(p)?.ppid === pid)
  }
  return undefined
}
