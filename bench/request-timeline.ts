/**
 * Where one request's time goes, execd beside its floor, from the kernel's own clock:
 * `perf record -a` of the servers' system calls (raw_syscalls, filtered to their threads),
 * the scheduler's switches and wake-ups of their main threads, and process exits. Unlike
 * `strace`, nothing stops at each call, so the gaps between calls are the programs' own.
 *
 *   bun run bench/request-timeline.ts command [requests=100] [turns=4] [warm=1500]
 *   bun run bench/request-timeline.ts cell    [requests=100] [turns=4] [warm=1500]
 *
 * command: `POST /command {"command":"true"}` read to its end, execd beside row 3e's least
 *   server (lib/spawn-server.ts). Marks on the main thread: the request read, the spawn
 *   (clone3 in and out), the child's exit (sched_process_exit), the two pipes' EOF reads, the
 *   reap (wait4), the answer's send, the loop back in its wait.
 * cell: python `x + 1` in a warm context, execd beside row 1h's relay (baselines/
 *   python-relay.ts). Marks: the request read, the write to the interpreter, the
 *   interpreter's read and its answer, the answer read back, the answer's send; and the bench's
 *   own Bun `fetch` client (row 1d's): its HTTP thread's read of the answer, its eventfd write
 *   that wakes the JavaScript thread, that thread's return from its wait, the next request's
 *   send (the client's steps are not split by state).
 *
 * Each gap is split by the main thread's scheduler state (running, runnable but waiting for a
 * core, asleep), so "execd's own" is what it ran, not what the machine made it wait. Sides
 * take turns (order rotating), `requests` per side per turn, 5 ms apart (BENCH_TIMELINE_GAP_MS=0:
 * back to back, as row 1 sends them); the figures are
 * medians over every request of every turn. Also prints the system calls per request by
 * name (the server's threads; the shells and interpreters apart). Needs perf and root.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startPythonRelay } from './baselines/python-relay'
import { createContext, relayClient } from './lib/code'
import { requireCommands } from './lib/command'
import { startExecd } from './lib/execd'
import { startLineChild } from './lib/line-child'
import { makeTempDir, runThenClean } from './lib/procs'
import { cellMarks, clientFd, clientMarks, commandMarks, type Marks, ORDER } from './lib/request-marks'
import { codeEnded, commandEnded, readEvents } from './lib/sse'
import { nameOf, record, split, type Trace, type Traced, tidsOf } from './lib/syscall-timeline'

const mode = process.argv[2] === 'cell' ? 'cell' : 'command'
const requests = Number(process.argv[3] ?? 100)
const turns = Number(process.argv[4] ?? 4)
const warm = Number(process.argv[5] ?? 1500)
/** The pause between requests: 0 sends each as the client has read the last, as row 1 does. */
const gapMs = Number(process.env.BENCH_TIMELINE_GAP_MS ?? 5)

/** A server under trace: its helpers (the interpreter) are recorded, not counted as its own. */
interface Side extends Traced {
  one(): Promise<void>
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) * q)]! : Number.NaN
}
const median = (xs: number[]) => quantile(xs, 0.5)

interface Summary {
  steps: Map<string, { total: number[]; run: number[]; wait: number[]; sleep: number[] }>
  whole: number[]
  /** The main thread's running time over each whole request (read → loop waits again). */
  wholeRun: number[]
  syscalls: Map<string, number>
  requests: number
}

function summarize(trace: Trace, side: Side, into: Summary): void {
  const client = clientFd(trace.calls, side.pid)
  const helpers = new Set(side.helpers().flatMap(tidsOf))
  const clients = new Set(side.clients?.().flatMap(tidsOf) ?? [])
  const all =
    mode === 'command'
      ? commandMarks(
          trace.calls.filter(c => c.tid === side.pid),
          trace,
          client,
        )
      : cellMarks(trace.calls, side.pid, client, helpers)
  const step = (marks: Marks, serverThread: boolean) => {
    for (let k = 1; k < marks.length; k++) {
      const key = `${marks[k - 1]![0]} → ${marks[k]![0]}`
      const [a, b] = [marks[k - 1]![1], marks[k]![1]]
      // the client's steps are its threads' time: the server's states do not split them
      const s = serverThread ? split(trace.states, a, b) : { run: Number.NaN, wait: Number.NaN, sleep: Number.NaN }
      const e = into.steps.get(key) ?? { total: [], run: [], wait: [], sleep: [] }
      e.total.push(b - a)
      e.run.push(s.run)
      e.wait.push(s.wait)
      e.sleep.push(s.sleep)
      into.steps.set(key, e)
    }
  }
  for (const marks of all) {
    step(marks, true)
    const sent = marks.find(m => m[0] === 'answer sent')
    if (sent && clients.size) step(clientMarks(trace.calls, clients, sent[1]), false)
    into.whole.push(marks.at(-1)![1] - marks[0]![1])
    into.wholeRun.push(split(trace.states, marks[0]![1], marks.at(-1)![1]).run)
  }
  into.requests += all.length
  // the calls from the first request read to the last request's end (the idle second before
  // the first and the pauses between count too: the daemon's timers are its cost as well)
  const [from, to] = [all[0]?.[0]?.[1] ?? 0, all.at(-1)?.at(-1)?.[1] ?? 0]
  for (const c of trace.calls) {
    if (helpers.has(c.tid) || clients.has(c.tid) || c.enter < from || c.enter > to) continue
    into.syscalls.set(nameOf(c.nr), (into.syscalls.get(nameOf(c.nr)) ?? 0) + 1)
  }
}

async function sides(): Promise<Side[]> {
  // BENCH_EXECD_BIN: another build in execd's place (an instrumented one, say)
  const execd = await startExecd({
    bin: process.env.BENCH_EXECD_BIN || undefined,
    args: (process.env.BENCH_EXECD_ARGS ?? '').split(' ').filter(Boolean),
  })
  if (mode === 'command') {
    await requireCommands(execd)
    const server = startLineChild([process.execPath, join(import.meta.dir, 'lib', 'spawn-server.ts')])
    const url = `http://127.0.0.1:${Number(await server.ask('port'))}`
    const run = async (res: Response) => {
      if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
      const { events } = await readEvents(res, commandEnded)
      if (events.at(-1)?.type !== 'execution_complete')
        throw new Error(`command ended ${JSON.stringify(events.at(-1))}`)
    }
    // BENCH_TIMELINE_VARIANT="<args>": a second execd beside, started with those arguments
    const variantArgs = (process.env.BENCH_TIMELINE_VARIANT ?? '').split(' ').filter(Boolean)
    const variant = variantArgs.length ? await startExecd({ args: variantArgs }) : undefined
    const variants: Side[] = variant
      ? [
          {
            name: `execd ${variantArgs.join(' ')}`,
            pid: variant.pid,
            helpers: () => [],
            one: async () => run(await variant.post('/command', { command: 'true' })),
          },
        ]
      : []
    return [
      {
        name: 'execd',
        pid: execd.pid,
        helpers: () => [],
        one: async () => run(await execd.post('/command', { command: 'true' })),
      },
      ...variants,
      {
        name: 'least server',
        pid: server.pid,
        helpers: () => [],
        one: async () =>
          run(
            await fetch(`${url}/command`, {
              method: 'POST',
              body: JSON.stringify({ command: 'true' }),
              headers: { 'content-type': 'application/json' },
            }),
          ),
      },
    ]
  }
  const id = await createContext(execd, 'python')
  const relay = await startPythonRelay()
  await readEvents(await execd.post('/code', { code: 'x = 1', context: { id, language: 'python' } }), codeEnded)
  await readEvents(await relayClient(relay.url).post('/code', { code: 'x = 1' }), codeEnded)
  const cell = async (post: () => Promise<Response>) => {
    const { events } = await readEvents(await post(), codeEnded)
    const result = events.find(e => e.type === 'result')
    if ((result?.results as Record<string, unknown> | undefined)?.['text/plain'] !== '2')
      throw new Error(`cell answered ${JSON.stringify(events)}`)
  }
  const childrenOf = (pid: number) =>
    tidsOf(pid).flatMap(t => {
      try {
        return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      } catch {
        return []
      }
    })
  return [
    {
      name: 'execd',
      pid: execd.pid,
      helpers: () => childrenOf(execd.pid),
      clients: () => [process.pid],
      one: () => cell(() => execd.post('/code', { code: 'x + 1', context: { id, language: 'python' } })),
    },
    {
      name: 'relay',
      pid: relay.pid,
      helpers: () => childrenOf(relay.pid),
      clients: () => [process.pid],
      one: () =>
        cell(() =>
          fetch(`${relay.url}/code`, {
            method: 'POST',
            body: JSON.stringify({ code: 'x + 1' }),
            headers: { 'content-type': 'application/json' },
          }),
        ),
    },
  ]
}

async function main(): Promise<void> {
  if (!Bun.which('perf')) throw new Error('perf is not installed (apt-get install linux-perf)')
  // BENCH_TIMELINE_KEEP=<dir>: leave the perf data there, for `perf script -i` by hand
  const dir = process.env.BENCH_TIMELINE_KEEP || makeTempDir('timeline')
  const list = await sides()
  for (let i = 0; i < warm; i++) for (const s of list) await s.one()
  const out = new Map<string, Summary>(
    list.map(s => [s.name, { steps: new Map(), whole: [], wholeRun: [], syscalls: new Map(), requests: 0 }]),
  )
  const loads: string[] = []
  for (let turn = 0; turn < turns; turn++) {
    const order = [...list.slice(turn % list.length), ...list.slice(0, turn % list.length)]
    for (const side of order) {
      const work = async () => {
        for (let i = 0; i < requests; i++) {
          await side.one()
          if (gapMs > 0) await Bun.sleep(gapMs)
        }
      }
      summarize(await record(side, join(dir, `${side.name}-${turn}.data`), work), side, out.get(side.name)!)
    }
    loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!)
  }
  console.log(
    `${mode}: ${requests} requests × ${turns} turns per side after ${warm} warm each; load average ${loads.join(', ')}`,
  )
  console.log('µs, medians over requests: total (running / waiting for a core / asleep) of the main thread')
  for (const side of list) {
    const s = out.get(side.name)!
    console.log(
      `\n${side.name} (${s.requests} requests; request read → loop waits again ${(median(s.whole) * 1000).toFixed(0)} µs, the main thread running ${(median(s.wholeRun) * 1000).toFixed(0)} µs of it)`,
    )
    const rank = (key: string) => ORDER.indexOf(key.split(' → ')[0]!)
    for (const [key, e] of [...s.steps].sort((a, b) => rank(a[0]) - rank(b[0]))) {
      if (e.total.length < s.requests / 2) continue
      const f = (xs: number[]) => (Number.isNaN(median(xs)) ? '—' : (median(xs) * 1000).toFixed(0)).padStart(5)
      const p25 = (quantile(e.total, 0.25) * 1000).toFixed(0).padStart(5)
      console.log(
        `  ${key.padEnd(44)} ${f(e.total)}  (${f(e.run)} / ${f(e.wait)} / ${f(e.sleep)})  p25 ${p25}  n=${e.total.length}`,
      )
    }
  }
  console.log("\nsystem calls per request, the servers' threads (not the shells or interpreters)")
  const names = [...new Set(list.flatMap(s => [...out.get(s.name)!.syscalls.keys()]))]
  const per = (side: string, n: string) => (out.get(side)!.syscalls.get(n) ?? 0) / Math.max(1, out.get(side)!.requests)
  names.sort(
    (a, b) => per(list[0]!.name, b) - per(list.at(-1)!.name, b) - (per(list[0]!.name, a) - per(list.at(-1)!.name, a)),
  )
  console.log(`  ${'syscall'.padEnd(18)} ${list.map(s => s.name.padStart(13)).join(' ')}`)
  for (const n of names) {
    const v = list.map(s => per(s.name, n))
    if (v.every(x => x < 0.05)) continue
    console.log(`  ${n.padEnd(18)} ${v.map(x => x.toFixed(2).padStart(13)).join(' ')}`)
  }
  const totals = list.map(
    s => [...out.get(s.name)!.syscalls.values()].reduce((a, b) => a + b, 0) / Math.max(1, out.get(s.name)!.requests),
  )
  console.log(`  ${'total'.padEnd(18)} ${totals.map(x => x.toFixed(1).padStart(13)).join(' ')}`)
}

await runThenClean(main)
