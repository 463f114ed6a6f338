/**
 * execd's CPU per short command in a fresh daemon, as row 3 meets it, and once warm: each
 * round starts every build anew (order rotating), runs 10 commands, measures the next
 * `fresh` (row 3 times ~300 after 10), runs more until `warmAt`, then measures `warm` more.
 * Per thread, from /proc (all threads, the main thread, JSC's compiler threads), so a build that
 * shortens the path shows where: the main thread's own work, or what the JIT spends compiling
 * it. Not run by `make bench`.
 *
 *   bun run bench/command-fresh.ts [rounds=6] [fresh=300] [warm=300] [warmAt=1500]
 *   BENCH_BUILDS='main=/tmp/execd-old,new=dist/execd'   builds to compare (default dist/execd)
 *   a build may carry environment for its daemon: 'name=bin;VAR=value;VAR2=value'
 */
import { readFileSync } from 'node:fs'
import { type Execd, EXECD_BIN, startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { runThenClean } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'
import { percentile } from './lib/stats'
import { jitCpuMs, threadCpuMs } from './lib/usage'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [rounds, fresh, warm, warmAt] = [arg(0, 6), arg(1, 300), arg(2, 300), arg(3, 1500)]

interface Build {
  name: string
  bin: string
  env: Record<string, string>
}

const builds: Build[] = (process.env.BENCH_BUILDS ?? `execd=${EXECD_BIN}`).split(',').map(spec => {
  const [head, ...vars] = spec.split(';')
  const [name, bin] = head!.split('=') as [string, string]
  return { name, bin, env: Object.fromEntries(vars.map(v => v.split('=', 2) as [string, string])) }
})

/** ms of CPU: every thread (exited ones included), the main thread, the JIT's (a floor). */
function threads(pid: number): { main: number; jit: number; all: number } {
  const { all, main } = threadCpuMs(pid)
  return { main, jit: jitCpuMs(pid), all }
}

async function command(d: Execd): Promise<void> {
  const res = await d.post('/command', { command: 'true' })
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  if (events.at(-1)?.type !== 'execution_complete') throw new Error(`ended with ${JSON.stringify(events.at(-1))}`)
}

interface Span {
  main: number
  jit: number
  all: number
  wall: number
}

async function span(d: Execd, n: number): Promise<Span> {
  const t = threads(d.pid)
  const walls: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await command(d)
    walls.push(performance.now() - t0)
  }
  const u = threads(d.pid)
  return {
    main: (u.main - t.main) / n,
    jit: (u.jit - t.jit) / n,
    all: (u.all - t.all) / n,
    wall: percentile(walls, 0.5),
  }
}

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 3) =>
  `${percentile(xs, 0.5).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`
const row = (s: Span) =>
  `all ${s.all.toFixed(3)} main ${s.main.toFixed(3)} jit ${s.jit.toFixed(3)} | wall p50 ${s.wall.toFixed(2)}`

async function main(): Promise<void> {
  const results = new Map(builds.map(b => [b.name, { fresh: [] as Span[], warm: [] as Span[] }]))
  const loads: number[] = []
  console.log(
    `${rounds} rounds; per build: a fresh daemon, 10 commands, ${fresh} measured, warm to ${warmAt}, ${warm} measured`,
  )
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    const order = [...builds.slice(r % builds.length), ...builds.slice(0, r % builds.length)]
    for (const b of order) {
      const d = await startExecd({ bin: b.bin, env: b.env })
      try {
        await requireCommands(d)
        for (let i = 0; i < 10; i++) await command(d)
        const f = await span(d, fresh)
        for (let i = 10 + fresh; i < warmAt; i++) await command(d)
        const w = await span(d, warm)
        results.get(b.name)!.fresh.push(f)
        results.get(b.name)!.warm.push(w)
        console.log(`${b.name.padEnd(10)} fresh: ${row(f)}   warm: ${row(w)}`)
      } finally {
        await d.stop()
      }
    }
  }
  console.log(`\nms per command, median (min–max) over ${rounds} rounds; load average ${range(loads, 1)}`)
  for (const [name, { fresh: f, warm: w }] of results) {
    for (const [label, xs] of [
      ['fresh', f],
      ['warm', w],
    ] as const) {
      const of = (k: keyof Span) => range(xs.map(x => x[k]))
      console.log(
        `${name.padEnd(10)} ${label.padEnd(5)} all ${of('all')}  main ${of('main')}  jit ${of('jit')}  wall ${of('wall')}`,
      )
    }
  }
}

await runThenClean(main)
