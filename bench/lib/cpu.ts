/** CPU time of a process from /proc/<pid>/stat, to tell whether the daemon or the client was the limit. */
import { readFileSync } from 'node:fs'

const TICKS_PER_S = 100 // USER_HZ on Linux

/** Seconds of CPU a process used: its own, and its reaped children's (e.g. the shells it ran). */
export function cpuSeconds(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const at = (n: number) => Number(f[n - 3])
  return { own: (at(14) + at(15)) / TICKS_PER_S, children: (at(16) + at(17)) / TICKS_PER_S }
}

/** CPU seconds this bench process (the client side) has used. */
export function clientCpuSeconds(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
