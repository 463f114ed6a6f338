/**
 * What a warm python cell costs the interpreter's process inside execd, and execd itself, by
 * thread (named by /proc's comm: JSC's heap helpers, its JIT worker, Bun's pool…): CPU from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU, where /proc/<pid>/stat ticks are
 * 10 ms apart), time waiting for a CPU once runnable, and the context switches. The driver alone
 * (`driver-cells.py`, same sources) gives its own figure to set beside it.
 *
 *   bun run bench/cell-wakeups.ts [cells=2000] [warm=3000] [rounds=3]
 *   BENCH_EXECD_BIN=…   the execd to measure (default dist/execd)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createContext, runCode } from './lib/code'
import { EXECD_BIN, startExecd } from './lib/execd'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [cells, warm, rounds] = [arg(0, 2000), arg(1, 3000), arg(2, 3)]

interface Thread {
  name: string
  cpuNs: number
  waitNs: number
  voluntary: number
  involuntary: number
}

const field = (status: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)

function threads(pid: number): Map<string, Thread> {
  const out = new Map<string, Thread>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const [cpu = 0, wait = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
    out.set(`${tid} ${name}`, {
      name,
      cpuNs: cpu,
      waitNs: wait,
      voluntary: field(status, 'voluntary_ctxt_switches'),
      involuntary: field(status, 'nonvoluntary_ctxt_switches'),
    })
  }
  return out
}

const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap(tid =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  )

/** Each thread's share of the round, per cell (threads that used under 0.05 µs a cell left out). */
function printDelta(name: string, a: Map<string, Thread>, b: Map<string, Thread>): void {
  const rows: string[] = []
  let cpu = 0
  const per = (n: number) => (n / cells).toFixed(2)
  const us = (ns: number) => (ns / cells / 1000).toFixed(1)
  for (const [key, t] of b) {
    const o = a.get(key)
    if (!o) continue
    cpu += t.cpuNs - o.cpuNs
    if ((t.cpuNs - o.cpuNs) / cells < 50) continue
    rows.push(
      `  ${key}: cpu ${us(t.cpuNs - o.cpuNs)} µs, runnable-wait ${us(t.waitNs - o.waitNs)} µs, switches ${per(t.voluntary - o.voluntary)} voluntary ${per(t.involuntary - o.involuntary)} forced`,
    )
  }
  console.log(` ${name}: ${us(cpu)} µs CPU a cell`)
  for (const row of rows) console.log(row)
}

const d = await startExecd({ bin: process.env.BENCH_EXECD_BIN ?? EXECD_BIN })
try {
  const before = new Set(childrenOf(d.pid))
  const id = await createContext(d, 'python')
  const python = childrenOf(d.pid).find(pid => !before.has(pid))
  if (python === undefined) throw new Error('no interpreter started')
  await runCode(d, id, 'python', 'x = 1')
  for (let i = 0; i < warm; i++) await runCode(d, id, 'python', 'x + 1')
  for (let r = 0; r < rounds; r++) {
    const a = [threads(python), threads(d.pid)]
    const t0 = performance.now()
    for (let i = 0; i < cells; i++) await runCode(d, id, 'python', 'x + 1')
    const wallUs = ((performance.now() - t0) * 1000) / cells
    const b = [threads(python), threads(d.pid)]
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
    console.log(`round ${r}: wall ${wallUs.toFixed(0)} µs a cell, load ${load}`)
    for (const [side, name] of ['interpreter', 'execd'].entries()) printDelta(name, a[side]!, b[side]!)
  }
} finally {
  await d.stop()
}
