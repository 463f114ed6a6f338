/**
 * Where row 4a's floor is: the same flood (`yes` of 1 KiB lines through `head -c`) read by the
 * same client (Bun `fetch`, bytes counted, bench/lib/sse.ts `drainCounting`) from execd and from
 * the least servers that carry it (bench/lib/flood-relay.ts: the child's stream as the body
 * (`native`), a JavaScript loop from the read to a direct stream's write (`direct`), the least
 * compiled server that frames each line as one SSE event as execd does (`framed`, row 4c's floor:
 * bench/lib/sse-relay-server.ts), and `canned` frames from memory with no child at all: the client alone), beside the plain pipe
 * this process reads, in rounds taking turns. Per side: the rate and its ratio to the pipe of
 * the same round, the server's CPU per MiB (all its threads) and this process's, the client's.
 * Not run by `make bench`.
 *
 *   bun run bench/flood-floor.ts [rounds=6] [MiB per flood=256]
 *   BENCH_EXECD_BEFORE=<binary>   another build of execd, started beside dist/execd
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startSseRelay } from './baselines/sse-relay'
import { startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { startLineChild } from './lib/line-child'
import { runThenClean, spawnTracked } from './lib/procs'
import { drainCounting } from './lib/sse'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'
import { floodCommand } from './rows/r4-output-throughput'

const rounds = Number(process.argv[2] ?? 6)
const mib = Number(process.argv[3] ?? 256)
const bytes = mib * 1024 * 1024
const command = floodCommand(bytes)

interface Side {
  name: string
  /** The server's pid (none for the pipe: the cost is this process's). */
  pid?: number
  start(): Promise<Response>
}

interface Round {
  rate: number
  ratio: number
  server: number
  client: number
}

const clientMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function measure(side: Side): Promise<Omit<Round, 'ratio'>> {
  const s0 = side.pid ? threadCpuMs(side.pid).all : 0
  const c0 = clientMs()
  const t0 = performance.now()
  const res = await side.start()
  if (res.status !== 200) throw new Error(`${side.name}: ${res.status} ${await res.text()}`)
  const { bytes: got, tail } = await drainCounting(res)
  const secs = (performance.now() - t0) / 1000
  const client = (clientMs() - c0) / mib
  const server = side.pid ? (threadCpuMs(side.pid).all - s0) / mib : 0
  if (got < bytes) throw new Error(`${side.name}: ${got} of ${bytes} bytes`)
  // the relays carry raw output: only frames end with an event
  if (!['pipe', 'native', 'direct'].includes(side.name) && !tail.includes('execution_complete'))
    throw new Error(`${side.name}: no end`)
  return { rate: mib / secs, server, client }
}

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 2) =>
  `${percentile(xs, 0.5).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

async function main(): Promise<void> {
  const relay = startLineChild([process.execPath, join(import.meta.dir, 'lib', 'flood-relay.ts')])
  const relayUrl = `http://127.0.0.1:${Number(await relay.ask('port'))}`
  const toRelay = (mode: string) => () =>
    fetch(`${relayUrl}/${mode}`, { method: 'POST', body: JSON.stringify({ command, bytes }) })
  const sides: Side[] = [
    {
      name: 'pipe',
      start: async () => {
        const proc = spawnTracked(['bash', '-c', command], { stdout: 'pipe' })
        return new Response(proc.stdout as ReadableStream<Uint8Array>)
      },
    },
    { name: 'canned', pid: relay.pid, start: toRelay('canned') },
    { name: 'native', pid: relay.pid, start: toRelay('native') },
    { name: 'direct', pid: relay.pid, start: toRelay('direct') },
  ]
  const framed = await startSseRelay()
  sides.push({
    name: 'framed',
    pid: framed.pid,
    start: () => fetch(`${framed.url}/command`, { method: 'POST', body: JSON.stringify({ command }) }),
  })
  const builds: [string, string | undefined][] = [['execd', undefined]]
  if (process.env.BENCH_EXECD_BEFORE) builds.push(['before', process.env.BENCH_EXECD_BEFORE])
  for (const [name, bin] of builds) {
    const d = await startExecd({ bin })
    await requireCommands(d)
    sides.push({ name, pid: d.pid, start: () => d.post('/command', { command }) })
  }
  for (const side of sides) await measure(side) // warm-up: JIT, first faults
  const results = new Map<string, Round[]>(sides.map(s => [s.name, []]))
  const loads: number[] = []
  console.log(`${rounds} rounds of a ${mib} MiB flood per side, turns taken`)
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    const order = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]
    const got = new Map<string, Omit<Round, 'ratio'>>()
    for (const side of order) got.set(side.name, await measure(side))
    const pipeRate = got.get('pipe')!.rate
    for (const [name, m] of got) results.get(name)!.push({ ...m, ratio: m.rate / pipeRate })
    console.log(
      [...got].map(([n, m]) => `${n} ${m.rate.toFixed(0)} (${(m.rate / pipeRate).toFixed(2)}×)`).join(', ') +
        `; load ${loads.at(-1)}`,
    )
  }
  console.log(`\nmedian (min–max) over ${rounds} rounds; load average ${range(loads, 1)}; CPU in ms per MiB`)
  for (const [name, ms] of results) {
    const of = (k: keyof Round) => ms.map(m => m[k])
    console.log(
      `${name.padEnd(7)} ${range(of('rate'), 0)} MiB/s, ${range(of('ratio'))}× the pipe; ` +
        (name === 'pipe' ? '' : `server ${range(of('server'))}, `) +
        `client ${range(of('client'))}`,
    )
  }
  await relay.stop()
  await framed.stop()
}

await runThenClean(main)
