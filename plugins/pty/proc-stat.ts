/**
 * What /proc tells about terminal sessions: a terminal's foreground job, and every process
 * group in a session. A shell with job control moves each job into its own group, so "the
 * group" of the shell misses the job a user means when they press Ctrl-C, and a group kill
 * misses jobs.
 */
import { readFileSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'

interface Stat {
  pgrp: number
  session: number
  /** Foreground process group of the controlling terminal (-1 or 0 when none). */
  tpgid: number
}

/** A live (non-zombie) process: its group and session. */
export interface ProcEntry {
  pgrp: number
  session: number
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

/** Stat files read at once: enough to be quick, few enough not to hog the thread pool. */
const READ_BATCH = 64

async function readProcTable(): Promise<ProcEntry[]> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return []
  }
  const pids = entries.filter(e => e.charCodeAt(0) <= 57)
  const table: ProcEntry[] = []
  for (let i = 0; i < pids.length; i += READ_BATCH) {
    const stats = await Promise.all(
      pids.slice(i, i + READ_BATCH).map(pid => readFile(`/proc/${pid}/stat`, 'latin1').then(parseStat, () => null)),
    )
    for (const stat of stats) if (stat) table.push({ pgrp: stat.pgrp, session: stat.session })
  }
  return table
}

/**
 * Reads the process table without blocking the event loop, and shares reads: every caller
 * gets a table read after it asked (so it sees the effect of signals it sent before), but
 * callers that ask while a read is under way all share the one read that follows it. Tearing
 * down 200 terminals then costs a few scans of /proc, not a few per terminal.
 */
export class ProcScanner {
  private running: Promise<ProcEntry[]> | null = null
  private queued: Promise<ProcEntry[]> | null = null

  scan(): Promise<ProcEntry[]> {
    if (this.queued) return this.queued
    if (!this.running) return this.start()
    const queued = this.running.then(
      () => this.start(),
      () => this.start(),
    )
    this.queued = queued
    // The queued read has started once `running` settled: later callers need a new one.
    void this.running.finally(() => {
      if (this.queued === queued) this.queued = null
    })
    return queued
  }

  private start(): Promise<ProcEntry[]> {
    const read: Promise<ProcEntry[]> = readProcTable().finally(() => {
      if (this.running === read) this.running = null
    })
    this.running = read
    return read
  }
}

/** Process groups with a live member, per session id, for the sessions in `sids` that have any. */
export function groupsBySession(table: readonly ProcEntry[], sids: ReadonlySet<number>): Map<number, Set<number>> {
  const groups = new Map<number, Set<number>>()
  for (const { pgrp, session } of table) {
    if (!sids.has(session)) continue
    let set = groups.get(session)
    if (!set) groups.set(session, (set = new Set()))
    set.add(pgrp)
  }
  return groups
}
