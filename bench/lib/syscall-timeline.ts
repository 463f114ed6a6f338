/**
 * One server's system calls and its main thread's scheduling, on the kernel's clock, for
 * bench/request-timeline.ts: `perf record -a` of the raw_syscalls tracepoints filtered to the
 * server's threads (and helpers such as its interpreter), the main thread's switches and
 * wake-ups, and every process exit. Nothing stops at each call as under strace, so the time
 * between two calls is the program's own. Needs perf and root.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { spawnTracked } from './procs'

const NAMES = (() => {
  const names = new Map<number, string>()
  try {
    const text = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8')
    for (const m of text.matchAll(/#define __NR_(\w+) (\d+)/g)) names.set(Number(m[2]), m[1]!)
  } catch {}
  return names
})()
export const NR = (name: string) => [...NAMES].find(([, n]) => n === name)?.[0] ?? -1
export const [RECVFROM, SENDTO, CLONE3, WAIT4, EPOLL_WAIT, WRITE, READ, RECVMSG, SENDMSG, WRITEV] = [
  'recvfrom',
  'sendto',
  'clone3',
  'wait4',
  'epoll_pwait2',
  'write',
  'read',
  'recvmsg',
  'sendmsg',
  'writev',
].map(NR)
// Bun spawns with clone3 when it moves the child into a cgroup (CLONE_INTO_CGROUP), else vfork
export const SPAWNS = new Set([CLONE3, NR('vfork'), NR('clone')])
export const nameOf = (nr: number) => NAMES.get(nr) ?? `NR ${nr}`

export interface Call {
  tid: number
  nr: number
  args: string[]
  enter: number
  exit: number
  ret: number
}

export interface Trace {
  calls: Call[]
  exits: Map<number, number>
  /** Main thread: [time, state] with state 'run' | 'wait' | 'sleep'. */
  states: Array<[number, 'run' | 'wait' | 'sleep']>
}

export const tidsOf = (pid: number): number[] => {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number)
  } catch {
    return []
  }
}

/** perf record's arguments for every system call's entry and exit of the threads `filter` names. */
export const syscallEvents = (filter: string): string[] => [
  '-e',
  'raw_syscalls:sys_enter',
  '--filter',
  filter,
  '-e',
  'raw_syscalls:sys_exit',
  '--filter',
  filter,
]

/** What to trace: the server's main thread (its pid) and the processes recorded beside it. */
export interface Traced {
  name: string
  pid: number
  helpers(): number[]
  /** Processes of the client, recorded to mark when the answer reached it (not the server's). */
  clients?(): number[]
}

/** Records while `work` runs (after a moment for perf to attach); its calls and states. */
export async function record(side: Traced, file: string, work: () => Promise<void>): Promise<Trace> {
  const own = tidsOf(side.pid)
  const helpers = [...side.helpers(), ...(side.clients?.() ?? [])].flatMap(tidsOf)
  const pids = [...own, ...helpers]
  const filter = pids.map(t => `common_pid == ${t}`).join(' || ')
  const perf = spawnTracked(
    [
      'perf',
      'record',
      '-a',
      '-q',
      '-o',
      file,
      ...syscallEvents(filter),
      '-e',
      'sched:sched_process_exit',
      '-e',
      'sched:sched_switch',
      '--filter',
      `prev_pid == ${side.pid} || next_pid == ${side.pid}`,
      '-e',
      'sched:sched_wakeup',
      '--filter',
      `pid == ${side.pid}`,
    ],
    { stdout: 'ignore', stderr: 'pipe' },
  )
  await Bun.sleep(800)
  await work()
  perf.kill('SIGINT')
  await perf.exited
  const script = Bun.spawnSync(['perf', 'script', '-i', file, '-F', 'tid,time,event,trace'], {
    stdout: 'pipe',
    stderr: 'pipe',
    maxBuffer: 1 << 30,
  })
  return parse(script.stdout.toString(), side.pid, new Set(pids))
}

function parse(text: string, main: number, tids: Set<number>): Trace {
  const calls: Call[] = []
  const open = new Map<number, Call>()
  const exits = new Map<number, number>()
  const states: Trace['states'] = []
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$/.exec(line)
    if (!m) continue
    const tid = Number(m[1])
    const t = Number(m[2]) * 1000 // ms
    const event = m[3]!
    const rest = m[4]!
    if (event === 'raw_syscalls:sys_enter' && tids.has(tid)) {
      const e = /NR (\d+) \(([^)]*)\)/.exec(rest)
      if (!e) continue
      const call = { tid, nr: Number(e[1]), args: e[2]!.split(', '), enter: t, exit: t, ret: 0 }
      open.set(tid, call)
      calls.push(call)
    } else if (event === 'raw_syscalls:sys_exit' && tids.has(tid)) {
      const e = /NR (\d+) = (-?\d+)/.exec(rest)
      const call = open.get(tid)
      if (!e || !call || call.nr !== Number(e[1])) continue
      call.exit = t
      call.ret = Number(e[2])
      open.delete(tid)
    } else if (event === 'sched:sched_process_exit') {
      const e = /pid=(\d+)/.exec(rest)
      if (e) exits.set(Number(e[1]), t)
    } else if (event === 'sched:sched_switch') {
      const e = /prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=.* next_pid=(\d+)/.exec(rest)
      if (!e) continue
      if (Number(e[1]) === main) states.push([t, e[2]!.startsWith('R') ? 'wait' : 'sleep'])
      if (Number(e[3]) === main) states.push([t, 'run'])
    } else if (event === 'sched:sched_wakeup') {
      states.push([t, 'wait'])
    }
  }
  return { calls, exits, states }
}

/** Time in [a, b) spent running, waiting for a core, asleep, by the main thread's states. */
export function split(states: Trace['states'], a: number, b: number): { run: number; wait: number; sleep: number } {
  const out = { run: 0, wait: 0, sleep: 0 }
  if (b <= a) return out
  // the state at a: the last change before it (a thread seen first in a syscall is running)
  let state: 'run' | 'wait' | 'sleep' = 'run'
  let i = 0
  for (; i < states.length && states[i]![0] <= a; i++) state = states[i]![1]
  let at = a
  for (; i < states.length && states[i]![0] < b; i++) {
    out[state] += states[i]![0] - at
    at = states[i]![0]
    state = states[i]![1]
  }
  out[state] += b - at
  return out
}
