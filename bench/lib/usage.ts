/**
 * Resource usage of a process from /proc: CPU time (/proc/<pid>/stat) and write syscalls
 * (/proc/<pid>/io), to tell what limited a measurement.
 */
import { readdirSync, readFileSync } from 'node:fs'

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

/**
 * write(2)-family syscalls a process's own threads have made so far (null when unreadable).
 * Summed over /proc/<pid>/task/<tid>/io: the process-wide /proc/<pid>/io also counts the
 * children it has reaped, which for a flood are `yes` and `head` (~384 writes per MiB). A thread
 * that exits meanwhile takes its count along (execd's threads live as long as it does).
 */
export function writeSyscalls(pid: number): number | null {
  try {
    let n = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const m = /^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/io`, 'utf8'))
      if (!m) return null
      n += Number(m[1])
    }
    return n
  } catch {
    return null
  }
}

/**
 * CPU ms of a process's threads from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU,
 * where stat's ticks are 10 ms): all threads alive now, and the main thread alone. A thread
 * that exits takes its time along; `total` (ms, from /proc/<pid>/stat's ticks) still counts it.
 */
export function threadCpuMs(pid: number): { threads: number; main: number; total: number } {
  let threads = 0
  let main = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns: number
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      continue // exited meanwhile
    }
    threads += ns / 1e6
    if (Number(tid) === pid) main = ns / 1e6
  }
  return { threads, main, total: cpuSeconds(pid).own * 1000 }
}
