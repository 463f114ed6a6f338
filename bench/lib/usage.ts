/**
 * Resource usage of a process from /proc: CPU time (/proc/<pid>/stat) and write syscalls
 * (/proc/<pid>/io), to tell what limited a measurement.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_S = 100 // USER_HZ on Linux

/**
 * Seconds of CPU a process used: its own (`user` of it in user mode), and its reaped children's
 * (e.g. the shells it ran).
 */
export function cpuSeconds(pid: number): { own: number; user: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const at = (n: number) => Number(f[n - 3])
  return { own: (at(14) + at(15)) / TICKS_PER_S, user: at(14) / TICKS_PER_S, children: (at(16) + at(17)) / TICKS_PER_S }
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

/** `clock_gettime` from libc, for another process's CPU clock; undefined where it cannot load. */
const clockGettime = (() => {
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi')
    return dlopen('libc.so.6', { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } }).symbols
      .clock_gettime
  } catch {
    return undefined
  }
})()
const timespec = new BigInt64Array(2)

/**
 * CPU ms of a whole process, its exited threads included, in nanoseconds: its CPU clock
 * (clock_getcpuclockid's `(~pid << 3) | CPUCLOCK_SCHED`); /proc/<pid>/stat's 10 ms ticks where
 * that cannot be read.
 */
function processCpuMs(pid: number): number {
  if (clockGettime && clockGettime((~pid << 3) | 2, timespec) === 0)
    return Number(timespec[0]) * 1e3 + Number(timespec[1]) / 1e6
  return cpuSeconds(pid).own * 1000
}

/**
 * CPU ms of a process (all its threads, exited ones included) and of its main thread alone
 * (/proc/<pid>/task/<pid>/schedstat, nanoseconds), and `waits`: the voluntary context switches
 * of the threads alive (each a sleep: an event-loop wake-up, a futex wait), which the machine's
 * load moves far less than CPU time.
 */
export function threadCpuMs(pid: number): { all: number; main: number; waits: number } {
  let waits = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
      waits += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    } catch {} // exited meanwhile
  }
  const main = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
  return { all: processCpuMs(pid), main, waits }
}

/**
 * CPU ms of JavaScriptCore's JIT compiler threads alive now (`JITWorker`, schedstat): what a
 * daemon spends compiling the code it runs, which a fresh one does for its first thousand or so
 * requests of a kind. One that exited took its CPU with it (JSC lets idle ones go), so a floor.
 */
export function jitCpuMs(pid: number): number {
  let ms = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('JITWorker')) continue
      ms += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
    } catch {} // exited meanwhile
  }
  return ms
}
