/**
 * execd's CPU per request on its front: `GET /ping` and a warm python `x + 1` cell, each on
 * keep-alive connections, with the CPU the daemon's threads used (its CPU clock and /proc, not
 * wall time: the machine is shared), in rounds that take turns with the relay floor
 * (baselines/python-relay.ts: a bare compiled Bun.serve relaying the cell to a warm python) and,
 * when given, another build of execd. Not run by `make bench`.
 *
 *   bun run bench/front-cpu.ts [rounds=8] [requests per round=2000]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *   BENCH_FRONT_WARMUP=16000            untimed requests of each kind first (JIT compiles go on to ~14,000)
 *   BENCH_FRONT_OPS=ping,cell           which requests to measure
 */
import { readFileSync } from 'node:fs'
import { startPythonRelay } from './baselines/python-relay'
import { createContext, relayClient, requireCode, runCode } from './lib/code'
import { type Execd, startExecd } from './lib/execd'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 8)
const perRound = Number(process.argv[3] ?? 2000)
const warmup = Number(process.env.BENCH_FRONT_WARMUP ?? 16000)
const ops = (process.env.BENCH_FRONT_OPS ?? 'ping,cell').split(',')

/** One server under measurement: its pid and one request of each kind. */
interface Side {
  name: string
  pid: number
  ping(): Promise<void>
  cell(): Promise<void>
}

async function ping(url: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${url}/ping`, { headers })
  if (res.status !== 200) throw new Error(`GET /ping: ${res.status}`)
  await res.arrayBuffer()
}

async function execdSide(name: string, d: Execd): Promise<Side> {
  await requireCode(d)
  const id = await createContext(d, 'python')
  return { name, pid: d.pid, ping: () => ping(d.url, d.headers), cell: () => cell(d, id) }
}

async function cell(client: Pick<Execd, 'post'>, id: string): Promise<void> {
  const { events } = await runCode(client, id, 'python', 'x = 1\nx + 1')
  if (!events.some(e => e.type === 'result')) throw new Error('a cell without its result')
}

/** CPU ms (all threads, main thread) and wall p50 per request over one round. */
async function round(side: Side, op: 'ping' | 'cell') {
  const walls: number[] = []
  const before = threadCpuMs(side.pid)
  for (let i = 0; i < perRound; i++) {
    const t0 = performance.now()
    await side[op]()
    walls.push(performance.now() - t0)
  }
  const after = threadCpuMs(side.pid)
  return {
    all: (after.all - before.all) / perRound,
    main: (after.main - before.main) / perRound,
    wall: percentile(walls, 0.5),
  }
}

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 3) =>
  `${percentile(xs, 0.5).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

async function main(): Promise<void> {
  const sides = [await execdSide('execd', await startExecd())]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await execdSide('before', await startExecd({ bin: before })))
  const relay = await startPythonRelay()
  const relayed = relayClient(relay.url)
  sides.push({ name: 'relay', pid: relay.pid, ping: () => ping(relay.url), cell: () => cell(relayed, 'relay') })
  for (const side of sides) for (const op of ops) for (let i = 0; i < warmup; i++) await side[op as 'ping']()
  const loads: number[] = []
  const results = new Map<string, { all: number; main: number; wall: number }[]>()
  console.log(`${rounds} rounds of ${perRound} per side and request, after ${warmup} warm ones`)
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    const turn = r % sides.length
    for (const op of ops as ('ping' | 'cell')[])
      for (const side of [...sides.slice(turn), ...sides.slice(0, turn)]) {
        const m = await round(side, op)
        const key = `${op} ${side.name}`
        results.set(key, [...(results.get(key) ?? []), m])
        console.log(
          `${key.padEnd(14)} CPU ms all ${m.all.toFixed(3)} main ${m.main.toFixed(3)} | wall p50 ${m.wall.toFixed(3)}`,
        )
      }
  }
  console.log(`\nmedian (min–max) over ${rounds} rounds, per request; load average ${range(loads, 1)}`)
  for (const [key, ms] of results) {
    const of = (k: 'all' | 'main' | 'wall') => ms.map(m => m[k])
    console.log(
      `${key.padEnd(14)} CPU ms all ${range(of('all'))}, main ${range(of('main'))}; wall p50 ${range(of('wall'))}`,
    )
  }
  // Round by round (the two took turns in it, so met the same load): what the new build saves.
  for (const op of ops) {
    const [now, then] = [results.get(`${op} execd`) ?? [], results.get(`${op} before`) ?? []]
    if (then.length === 0) continue
    const saved = (k: 'all' | 'main') => then.map((m, i) => m[k] - (now[i]?.[k] ?? NaN))
    const lower = saved('all').filter(x => x > 0).length
    console.log(
      `${op}: before − execd per round, CPU ms all ${range(saved('all'))}, main ${range(saved('main'))}; ` +
        `execd lower in ${lower} of ${then.length} rounds`,
    )
  }
  await relay.stop()
}

await runThenClean(main)
