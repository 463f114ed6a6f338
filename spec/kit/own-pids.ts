/**
 * A test's own live processes whose command line contains a marker. A scan of the whole machine
 * also finds the processes of the same test run elsewhere at the same time (a second CI clone, a
 * helper running the file), and a "nothing is left" check then fails on a stranger's `sleep`. So a
 * test names whose processes it means: those of the sessions it started (a terminal's shell leads
 * one; its jobs keep the session id after the shell is gone, so a survivor is still found), or
 * the descendants of a process (a daemon that is its children's subreaper keeps its orphans).
 */
import { readFileSync } from 'node:fs'
import { listPids, readStat } from '../../core/procfs'

/** Parents followed up from a process before giving up: deeper than any tree a test makes. */
const MAX_DEPTH = 64

function argvHas(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').includes(marker)
  } catch {
    return false
  }
}

/** Live (not zombie) pids in one of `sessions` whose arguments, joined by spaces, contain `marker`. */
export function pidsInSessions(marker: string, sessions: number | Iterable<number>): number[] {
  const sids = new Set(typeof sessions === 'number' ? [sessions] : sessions)
  return (listPids() ?? []).filter(pid => {
    const stat = readStat(pid)
    return stat !== undefined && stat.state !== 'Z' && sids.has(stat.sid) && argvHas(pid, marker)
  })
}

/** Live (not zombie) descendants of `root` whose arguments, joined by spaces, contain `marker`. */
export function pidsUnder(marker: string, root: number): number[] {
  const parents = new Map<number, number>()
  const live: number[] = []
  for (const pid of listPids() ?? []) {
    const stat = readStat(pid)
    if (stat === undefined) continue
    parents.set(pid, stat.ppid)
    if (stat.state !== 'Z') live.push(pid)
  }
  const under = (pid: number): boolean => {
    for (let p = parents.get(pid), depth = 0; p !== undefined && p > 1 && depth < MAX_DEPTH; depth++) {
      if (p === root) return true
      p = parents.get(p)
    }
    return false
  }
  return live.filter(pid => under(pid) && argvHas(pid, marker))
}

/**
 * Which of `pids`, seen before, still run with `marker` in their arguments. For checks made after
 * a daemon is gone: what it left would go to init, out of `pidsUnder`'s reach, so the check looks
 * at the processes it saw alive rather than at the daemon's tree.
 */
export const stillLive = (pids: readonly number[], marker: string): number[] =>
  pids.filter(pid => {
    const stat = readStat(pid)
    return stat !== undefined && stat.state !== 'Z' && argvHas(pid, marker)
  })

/** Random, not the pid: a pid is not unique across PID namespaces that see each other's /proc. */
const RUN = crypto.randomUUID().slice(0, 8)

/**
 * `name` made this test run's own, for a marker a test matches on the whole machine because what
 * it marks may have left every tree it knows. Letters, digits: a Python name stays one.
 */
export const ownMarker = (name: string): string => `${name}${RUN}`
