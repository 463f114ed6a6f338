/**
 * Resource usage of a process from /proc: CPU time (/proc/<pid>/stat) and write syscalls
 * (/proc/<pid>/io), to tell what limited a measurement.
 */
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

/** write(2)-family syscalls a process has made so far (null when /proc/<pid>/io is unreadable). */
export function writeSyscalls(pid: number): number | null {
  try {
    const m = /^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}
