/**
 * A reading of a `perf record -k mono -e sched:sched_wakeup,sched:sched_switch` by window: for each
 * kind of window (a side's paused or next cell), per window, who woke each thread of the side's
 * processes (its server's and its interpreter's, found as the threads the server's threads woke or
 * were woken by), which of those wake-ups went to another CPU, and how often a CPU left idle to run
 * one of them: on a quiet machine an idle vCPU woken is an exit to the host, which load hides.
 * A wake-up made from an interrupt is charged to the task it interrupted, as perf records it.
 */
import { spawnSync } from 'node:child_process'

export interface PerfWindow {
  side: string
  kind: string
  start: number
  end: number
}

const LINE = /^\s*(.+?)\s+(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$/
const WAKEUP = /comm=(.+?) pid=(\d+) .*target_cpu=(\d+)/
const SWITCH = /prev_comm=(.+?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.+?) next_pid=(\d+)/

const nameOf = (comm: string) => comm.replace(/\d+$/, 'N')

/** Prints, for each side and kind, the per-window counts of the events that touch that side. */
export function printPerfWindows(file: string, pids: Record<string, number>, windows: PerfWindow[]): void {
  const out = spawnSync('perf', ['script', '-i', file, '-F', 'comm,pid,tid,cpu,time,event,trace'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  }).stdout
  const events = out.split('\n').flatMap(line => {
    const m = LINE.exec(line)
    return m ? [{ comm: m[1]!, pid: +m[2]!, tid: +m[3]!, cpu: +m[4]!, t: +m[5]!, event: m[6]!, rest: m[7]! }] : []
  })
  const pidOf = new Map(events.map(e => [e.tid, e.pid]))
  // A side's processes: its server and every process one of the server's threads woke (its interpreter).
  const family = new Map<string, Set<number>>(Object.entries(pids).map(([side, pid]) => [side, new Set([pid])]))
  for (const e of events) {
    if (e.event !== 'sched:sched_wakeup') continue
    const woken = pidOf.get(Number(WAKEUP.exec(e.rest)?.[2]))
    for (const [side, pid] of Object.entries(pids))
      if (e.pid === pid && woken !== undefined && /python|exe/.test(WAKEUP.exec(e.rest)?.[1] ?? ''))
        family.get(side)!.add(woken)
  }
  const counts = new Map<string, Map<string, number>>()
  const bump = (key: string, what: string) => {
    const c = counts.get(key) ?? new Map<string, number>()
    c.set(what, (c.get(what) ?? 0) + 1)
    counts.set(key, c)
  }
  const sorted = [...windows].sort((a, b) => a.start - b.start)
  let i = 0
  for (const e of events) {
    while (i < sorted.length && sorted[i]!.end < e.t) i++
    const w = sorted[i]
    if (!w || e.t < w.start) continue
    const ours = family.get(w.side)!
    const key = `${w.side} ${w.kind}`
    const role = (pid: number | undefined) => (pid === pids[w.side] ? 'server' : 'interp')
    if (e.event === 'sched:sched_wakeup') {
      const m = WAKEUP.exec(e.rest)
      const wokenPid = pidOf.get(Number(m?.[2]))
      if (!m || wokenPid === undefined || !ours.has(wokenPid)) continue
      const by = ours.has(e.pid) ? `${role(e.pid)}/${nameOf(e.comm)}` : 'outside'
      bump(key, `${role(wokenPid)}/${nameOf(m[1]!)} woken by ${by}`)
      if (Number(m[3]) !== e.cpu) bump(key, 'wake-ups to another CPU')
    } else if (e.event === 'sched:sched_switch') {
      const m = SWITCH.exec(e.rest)
      if (m && m[2] === '0' && ours.has(pidOf.get(Number(m[5])) ?? -1))
        bump(key, `an idle CPU left for ${role(pidOf.get(Number(m[5])))}/${nameOf(m[4]!)}`)
    }
  }
  const perKey = new Map<string, number>()
  for (const w of windows) perKey.set(`${w.side} ${w.kind}`, (perKey.get(`${w.side} ${w.kind}`) ?? 0) + 1)
  for (const [key, c] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    const n = perKey.get(key)!
    console.log(`${key}, scheduler events a window (${n} windows):`)
    for (const [what, v] of [...c].sort((a, b) => b[1] - a[1]))
      if (v / n >= 0.1) console.log(`  ${(v / n).toFixed(2).padStart(6)}  ${what}`)
  }
}
