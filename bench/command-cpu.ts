/**
 * execd's CPU per short command: `POST /command {"command":"true"}` read to the end of its
 * answer, with the CPU execd's threads used (its CPU clock and /proc, not wall time: on this shared machine
 * CPU moves far less with the other tenants' load than a round trip does), in rounds that take
 * turns with the posix_spawn floor (bench/lib/spawn-floor.ts, a warm Bun process spawning
 * `bash -c true`, and spawning it as execd must) and with row 3e's least HTTP server
 * (bench/lib/spawn-server.ts, the same spawn behind `Bun.serve`, the same client): execd's CPU
 * beyond that server's is its own work. Not run by `make bench`.
 *
 *   bun run bench/command-cpu.ts [rounds=8] [commands per round=200]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *   BENCH_EXECD_ARGS / BENCH_BEFORE_ARGS serve options of each (`--cgroups off`: the same build
 *                                       twice, one without its children's cgroup leaves)
 *   BENCH_CMD_WARMUP=1500               untimed commands first (execd's JIT settles by ~1500)
 *   BENCH_COMMAND='exec sleep 0.03'     another command than `true` (the floor still spawns `true`)
 */
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { type Execd, startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { startLineChild, type LineChild } from './lib/line-child'
import { leastClient, startLeastServer } from './lib/least-server'
import { runThenClean } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 8)
const perRound = Number(process.argv[3] ?? 200)
const warmup = Number(process.env.BENCH_CMD_WARMUP ?? 1500)
const commandLine = process.env.BENCH_COMMAND || 'true'

/** What one round of one side measured, per command (ms). */
interface Round {
  /** All threads, exited ones included. */
  all: number
  main: number
  wall: number
  /** Voluntary context switches of all threads (see threadCpuMs). */
  waits: number
  /** Answers that went out as a stream (chunked), not one body. */
  streamed: number
  /** The main thread's share of its CPU in the kernel (stat's stime over utime + stime, ticks). */
  sys: number
}

/** The main thread's utime and stime, clock ticks (proc(5) fields 14 and 15). */
function mainTicks(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return [Number(f[11]), Number(f[12])]
}

interface Side {
  name: string
  round(): Promise<Round>
}

/** One command; true when it was answered as a stream rather than one body. */
async function command(d: Execd): Promise<boolean> {
  const res = await d.post('/command', { command: commandLine })
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  const streamed = res.headers.get('content-length') === null
  const { events } = await readEvents(res, commandEnded)
  const last = events.at(-1)
  if (last?.type !== 'execution_complete') throw new Error(`POST /command ended with ${JSON.stringify(last)}`)
  return streamed
}

/** A round of `perRound` operations, with the CPU `pid` used over it. */
async function measured(pid: number, once: () => Promise<{ wall: number; streamed?: boolean }>): Promise<Round> {
  const walls: number[] = []
  let streamed = 0
  const before = threadCpuMs(pid)
  const ticks = mainTicks(pid)
  for (let i = 0; i < perRound; i++) {
    const r = await once()
    walls.push(r.wall)
    if (r.streamed) streamed++
  }
  const after = threadCpuMs(pid)
  const [user, sys] = mainTicks(pid).map((t, i) => t - ticks[i]!) as [number, number]
  return {
    sys: sys / Math.max(1, user + sys),
    all: (after.all - before.all) / perRound,
    main: (after.main - before.main) / perRound,
    waits: (after.waits - before.waits) / perRound,
    wall: percentile(walls, 0.5),
    streamed: streamed / perRound,
  }
}

const daemonSide = (name: string, d: Execd): Side => ({
  name,
  round: () =>
    measured(d.pid, async () => {
      const t0 = performance.now()
      const streamed = await command(d)
      return { wall: performance.now() - t0, streamed }
    }),
})

/** The floor's own CPU per spawn, and the spawn's time as it measured it itself. */
const floorSide = (name: string, floor: LineChild, line: 'go' | 'owned'): Side => ({
  name,
  round: () =>
    measured(floor.pid, async () => {
      const wall = Number(await floor.ask(line))
      if (!(wall >= 0)) throw new Error(`spawn floor (${line}): bash -c true failed`)
      return { wall }
    }),
})

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 2) =>
  `${percentile(xs, 0.5).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

async function main(): Promise<void> {
  const args = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean)
  const daemons: [string, Execd][] = [['execd', await startExecd({ args: args('BENCH_EXECD_ARGS') })]]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) daemons.push(['before', await startExecd({ bin: before, args: args('BENCH_BEFORE_ARGS') })])
  const floor = startLineChild([process.execPath, join(import.meta.dir, 'lib', 'spawn-floor.ts')])
  const least = (await leastClient(startLeastServer())) as Execd
  for (const [, d] of daemons) {
    await requireCommands(d)
    for (let i = 0; i < warmup; i++) await command(d)
  }
  for (let i = 0; i < 50; i++) await floor.ask('go')
  for (let i = 0; i < 300; i++) await command(least)
  const sides = [
    ...daemons.map(([name, d]) => daemonSide(name, d)),
    daemonSide('server', least),
    floorSide('floor', floor, 'go'),
    floorSide('floor-owned', floor, 'owned'),
  ]
  const results = new Map<string, Round[]>(sides.map(s => [s.name, []]))
  const loads: number[] = []
  console.log(`${rounds} rounds of ${perRound} per side, after ${warmup} warm commands per daemon: ${commandLine}`)
  console.log('side          CPU ms/op: all threads   main | waits/op | wall p50 ms | streamed')
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    const turn = r % sides.length
    for (const side of [...sides.slice(turn), ...sides.slice(0, turn)]) {
      const m = await side.round()
      results.get(side.name)?.push(m)
      const cells = [m.all.toFixed(3).padStart(22), m.main.toFixed(3).padStart(6), m.waits.toFixed(1).padStart(8)]
      const tail = `${m.wall.toFixed(2).padStart(11)} | ${(m.streamed * 100).toFixed(0)}%`
      console.log(`${side.name.padEnd(12)} ${cells[0]} ${cells[1]} | ${cells[2]} | ${tail}`)
    }
  }
  console.log(`\nmedian (min–max) over ${rounds} rounds, per operation; load average ${range(loads, 1)}`)
  for (const [name, ms] of results) {
    const of = (k: keyof Round) => ms.map(m => m[k])
    const streamed = range(
      of('streamed').map(x => x * 100),
      0,
    )
    console.log(
      `${name.padEnd(12)} CPU ms: all threads ${range(of('all'))}, main thread ${range(of('main'))}; ` +
        `kernel ${range(
          of('sys').map(x => x * 100),
          0,
        )}% of main; waits ${range(of('waits'), 1)}; wall ${range(of('wall'))} ms; streamed ${streamed}%`,
    )
  }
  const [now, then] = [results.get('execd') ?? [], results.get('before') ?? []]
  if (then.length === 0) return
  // Round by round (the two took turns in it, so met the same load): what the new build saves.
  const saved = (k: keyof Round) => then.map((m, i) => m[k] - (now[i]?.[k] ?? NaN))
  const lower = saved('all').filter(x => x > 0).length
  console.log(
    `before − execd, per round: CPU ms all threads ${range(saved('all'), 3)}, main thread ${range(saved('main'), 3)}; ` +
      `waits ${range(saved('waits'), 1)}; execd lower in ${lower} of ${then.length} rounds`,
  )
}

await runThenClean(main)
