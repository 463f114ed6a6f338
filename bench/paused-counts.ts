/**
 * What a warm cell sent after a pause costs in counts, not time: for execd and row 1's relay
 * floors side by side (each idle the whole pause, taking turns as row 11 does), every thread of
 * the server and of its interpreter, named by /proc's comm, over a paused cell and the cell
 * right after it: times scheduled in (schedstat's third field: a wake-up each), voluntary and
 * forced switches, minor faults (pages touched anew: given back during the pause, or fresh),
 * CPU. Counts hold where the machine's load makes wall time useless; the wall is printed too.
 * Each window is the request to its answer, then `BENCH_SETTLE_MS` (20) for what follows it.
 *
 *   bun run bench/paused-counts.ts [pauses=20] [pause ms=1000] [warm=40]
 *   BENCH_EXECD_BIN=…   the execd to measure (default dist/execd)
 *   BENCH_SIDES=execd-py,execd-js,relay-py,relay-js   which to run (default all)
 *   BENCH_EXECD_ENV=K=V,K2=V2   more of execd's environment (a runtime's knob: BUN_GC_TIMER_DISABLE=1)
 *   BENCH_LOG_GC=1      execd logs JSC's collections (BUN_JSC_logGC): each one's start and end
 *                       counted by the window its line came in (the pause, a paused cell, a next cell)
 *   BENCH_PERF=<file>   also `perf record -a -k mono` the scheduler's wake-ups and switches
 *                       over the pauses, and write each window (side, kind, start, end in CLOCK_MONOTONIC's
 *                       seconds) and every side's pids to <file>.windows.json; then prints, a window, who woke
 *                       each thread of each side and how often an idle CPU left for one (lib/perf-windows.ts);
 *                       BENCH_PERF_EVENTS names other events (syscalls:sys_enter_madvise)
 */
import { dlopen, FFIType, ptr } from 'bun:ffi'
import { readdirSync, readFileSync } from 'node:fs'
import { startJsRelay } from './baselines/js-relay'
import { startPythonRelay } from './baselines/python-relay'
import { createContext, javascriptContext, relayClient, runCode } from './lib/code'
import { startExecd } from './lib/execd'
import { printPerfWindows } from './lib/perf-windows'
import { runThenClean, spawnTracked } from './lib/procs'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [pauses, pauseMs, warm] = [arg(0, 20), arg(1, 1000), arg(2, 40)]
const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 20)
const wanted = (process.env.BENCH_SIDES ?? 'execd-py,execd-js,relay-py,relay-js').split(',')

interface Counts {
  runs: number
  voluntary: number
  forced: number
  minflt: number
  cpuUs: number
}
const KEYS = ['runs', 'voluntary', 'forced', 'minflt', 'cpuUs'] as const
const zero = (): Counts => ({ runs: 0, voluntary: 0, forced: 0, minflt: 0, cpuUs: 0 })

const statusField = (status: string, key: string) =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)

/** Every thread of `pid` and its descendants, keyed `process/comm` (threads of one name summed). */
function snapshot(pid: number, label: string, out = new Map<string, Counts>()): Map<string, Counts> {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const base = `/proc/${pid}/task/${tid}`
      const [cpu = 0, , runs = 0] = readFileSync(`${base}/schedstat`, 'utf8').split(' ').map(Number)
      const stat = readFileSync(`${base}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const status = readFileSync(`${base}/status`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, 'N')
      const key = `${label}/${comm}`
      const c = out.get(key) ?? zero()
      c.runs += runs
      c.voluntary += statusField(status, 'voluntary_ctxt_switches')
      c.forced += statusField(status, 'nonvoluntary_ctxt_switches')
      c.minflt += Number(fields[7])
      c.cpuUs += cpu / 1000
      out.set(key, c)
      for (const child of readFileSync(`${base}/children`, 'utf8').split(' ').filter(Boolean))
        snapshot(Number(child), label === 'server' ? 'interp' : `${label}+`, out)
    } catch {}
  }
  return out
}

/** One side: a server, the cell it is sent, and the counts of its paused and next cells. */
interface Side {
  name: string
  pid: number
  cell: () => Promise<unknown>
  sums: Record<'paused' | 'next', Map<string, Counts>>
  wall: Record<'paused' | 'next', number[]>
}

function add(into: Map<string, Counts>, a: Map<string, Counts>, b: Map<string, Counts>): void {
  for (const [key, after] of b) {
    // A thread born in the window (JSC's helpers end after idle and are made anew) counts whole.
    const before = a.get(key) ?? zero()
    const sum = into.get(key) ?? zero()
    for (const k of KEYS) sum[k] += after[k] - before[k]
    into.set(key, sum)
  }
}

type GcWindow = 'warm' | 'pause' | 'paused' | 'next'
let gcWindow: GcWindow = 'warm'
/** execd's collections that started and ended, by the window their log line came in. */
const gcLines: Record<GcWindow, [number, number]> = { warm: [0, 0], pause: [0, 0], paused: [0, 0], next: [0, 0] }

/** Each measured window in CLOCK_MONOTONIC's seconds, perf's clock under `-k mono`. */
const windows: { side: string; kind: string; start: number; end: number }[] = []
const libc = dlopen('libc.so.6', { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } })
const timespec = new BigInt64Array(2)
const monotonic = () => {
  libc.symbols.clock_gettime(1, ptr(timespec)) // CLOCK_MONOTONIC: Bun's own clocks count from its start
  return Number(timespec[0]) + Number(timespec[1]) / 1e9
}

async function measure(side: Side, window: 'paused' | 'next'): Promise<void> {
  gcWindow = side.name.startsWith('execd') ? window : 'pause'
  const a = snapshot(side.pid, 'server')
  const t0 = performance.now()
  const start = monotonic()
  await side.cell()
  windows.push({ side: side.name, kind: window, start, end: monotonic() })
  side.wall[window].push(performance.now() - t0)
  await Bun.sleep(settleMs)
  add(side.sums[window], a, snapshot(side.pid, 'server'))
  gcWindow = 'pause'
}

function print(side: Side): void {
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN
  console.log(
    `${side.name}, ${side.wall.paused.length} pauses: wall median ${median(side.wall.paused).toFixed(2)} ms paused, ${median(side.wall.next).toFixed(2)} next`,
  )
  const count = side.wall.paused.length
  const per = (n: number) => (n / count).toFixed(n / count >= 100 ? 0 : 1).padStart(6)
  const totals = { paused: { runs: 0, minflt: 0, cpuUs: 0 }, next: { runs: 0, minflt: 0, cpuUs: 0 } }
  console.log(
    `  ${'thread'.padEnd(30)} ${'runs'.padStart(13)} ${'minflt'.padStart(13)} ${'cpu µs'.padStart(13)}  (paused | next)`,
  )
  for (const [key, p] of side.sums.paused) {
    const n = side.sums.next.get(key) ?? zero()
    for (const w of ['paused', 'next'] as const)
      for (const k of ['runs', 'minflt', 'cpuUs'] as const) totals[w][k] += (w === 'paused' ? p : n)[k]
    if (p.runs + n.runs + p.minflt + n.minflt === 0) continue
    const col = (k: 'runs' | 'minflt' | 'cpuUs') => `${per(p[k])} |${per(n[k])}`
    console.log(`  ${key.padEnd(30)} ${col('runs')} ${col('minflt')} ${col('cpuUs')}`)
  }
  const t = totals
  console.log(
    `  ${'all'.padEnd(30)} ${per(t.paused.runs)} |${per(t.next.runs)} ${per(t.paused.minflt)} |${per(t.next.minflt)} ${per(t.paused.cpuUs)} |${per(t.next.cpuUs)}`,
  )
}

await runThenClean(async () => {
  const sides: Side[] = []
  const side = (name: string, pid: number, cell: () => Promise<unknown>) => {
    if (wanted.includes(name))
      sides.push({ name, pid, cell, sums: { paused: new Map(), next: new Map() }, wall: { paused: [], next: [] } })
  }
  const logGC = process.env.BENCH_LOG_GC === '1'
  const d = await startExecd({
    bin: process.env.BENCH_EXECD_BIN,
    env: {
      ...Object.fromEntries(
        (process.env.BENCH_EXECD_ENV ?? '')
          .split(',')
          .filter(Boolean)
          .map(kv => kv.split('=', 2)),
      ),
      ...(logGC ? { BUN_JSC_logGC: '1' } : {}),
    },
    onStderr: text => {
      for (const m of text.matchAll(/\bSTART\b|END\]/g)) gcLines[gcWindow][m[0] === 'START' ? 0 : 1]++
    },
  })
  const relay = wanted.includes('relay-py') ? await startPythonRelay() : null
  const jsRelay = wanted.includes('relay-js') ? await startJsRelay() : null
  try {
    const py = await createContext(d, 'python')
    await runCode(d, py, 'python', 'x = 1')
    const js = await javascriptContext(d)
    const rc = relay && relayClient(relay.url)
    const jc = jsRelay && relayClient(jsRelay.url)
    if (rc) await runCode(rc, py, 'python', 'x = 1')
    if (jc) await runCode(jc, 'js', 'javascript', 'var x = 1')
    side('execd-py', d.pid, () => runCode(d, py, 'python', 'x + 1'))
    if (js) side('execd-js', d.pid, () => runCode(d, js, 'javascript', 'x + 1'))
    if (relay && rc) side('relay-py', relay.pid, () => runCode(rc, py, 'python', 'x + 1'))
    if (jsRelay && jc) side('relay-js', jsRelay.pid, () => runCode(jc, 'js', 'javascript', 'x + 1'))
    for (let i = 0; i < warm; i++) for (const s of sides) await s.cell()
    gcWindow = 'pause'
    const perfOut = process.env.BENCH_PERF
    const perf = perfOut
      ? spawnTracked(
          [
            'perf',
            'record',
            '-q',
            '-a',
            '-k',
            'mono',
            '-e',
            process.env.BENCH_PERF_EVENTS ?? 'sched:sched_wakeup,sched:sched_switch',
            '-o',
            perfOut,
          ],
          {},
        )
      : null
    if (perf) await Bun.sleep(1000) // perf's own start, before the first pause counts
    // One request to each server after each pause (execd's two kinds taking turns), so that
    // every server was idle the whole pause; the order rotates so none is always first.
    const servers = [...new Set(sides.map(s => s.pid))].map(pid => sides.filter(s => s.pid === pid))
    for (let r = 0; r < pauses; r++) {
      await Bun.sleep(pauseMs)
      const now = servers.map(kinds => kinds[r % kinds.length]!)
      for (let i = 0; i < now.length; i++) await measure(now[(r + i) % now.length]!, 'paused')
      for (const s of now) await measure(s, 'next')
    }
    if (perf && perfOut) {
      perf.kill('SIGINT')
      await perf.exited
      const pids = Object.fromEntries(sides.map(s => [s.name, s.pid]))
      await Bun.write(`${perfOut}.windows.json`, JSON.stringify({ pids, windows }))
      if (!process.env.BENCH_PERF_EVENTS) printPerfWindows(perfOut, pids, windows)
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    console.log(`${pauses} pauses of ${pauseMs} ms after ${warm} warm cells, counts a cell (load ${load})`)
    for (const s of sides) print(s)
    if (logGC)
      for (const w of ['pause', 'paused', 'next'] as const)
        console.log(`execd's collections in ${w} windows: ${gcLines[w][0]} started, ${gcLines[w][1]} ended`)
  } finally {
    await Promise.allSettled([d.stop(), relay?.stop(), jsRelay?.stop()])
  }
})
