/**
 * Instructions per request, counted by callgrind on the compiled servers: unlike seconds they do
 * not move with the machine's load, so a step's cost in execd can be set beside its cost in a
 * bare `Bun.serve` on a shared, busy machine. Each server runs under `valgrind --tool=callgrind`
 * with counting off while it warms up (its JIT reaches the same tiers as without valgrind: the
 * tiers go by execution counts), then on for `requests` requests of each kind after a few hundred
 * more (the instrumented code's translation); the counts are read per thread from the dump.
 *
 *   bun run bench/request-instructions.ts [requests=400] [warm=3000] [rounds=2]
 *   BENCH_SIDES=door,bare   only these sides
 *   BENCH_EXECD_BIN=…       the execd to count (default dist/execd)
 *   BENCH_DOOR_BIN=…        a door server built before (another tree's front door), else built now
 *   BENCH_PROFILE=1         also each count's (cell, ping) biggest own costs by compiled function, named
 *                           by the server's jitdump (lib/callgrind-jit.ts; a build without
 *                           --minify-identifiers names them as the source does)
 *   BENCH_CLOCK_CHAINS=6       with BENCH_PROFILE, each clock read by its chain of 6 callers
 *                              (addresses in the executable, JIT code's named from the jitdump)
 *
 * Sides, each answering `POST /code` (a warm cell's request, the token header, a JSON body) and
 * `GET /ping` on one keep-alive connection of this process's fetch:
 *   execd      dist/execd (BENCH_EXECD_BIN), python `x + 1` in a warm context;
 *   relay      row 1h's relay (baselines/python-relay.ts), the same cell through a bare Bun.serve;
 *   bare       lib/door-server.ts: route, `request.json()`, the cell's five frames answered;
 *   door       the same answer behind execd's own front door and body read (core/front-door.ts);
 *   door-json  the front door with the body read by `request.json()`.
 * Needs valgrind (vgdb switches the counting).
 */
import { join } from 'node:path'
import { startPythonRelay } from './baselines/python-relay'
import { callgrindDir, callgrindLauncher, countRequests, SETTLE } from './lib/callgrind'
import { compileLikeExecd } from './lib/compile'
import { profileLines } from './lib/callgrind-jit'
import { createContext, relayClient, runCode } from './lib/code'
import { EXECD_BIN, startExecd } from './lib/execd'
import { runThenClean, spawnPortPrinter, stopProcess } from './lib/procs'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [requests, warm, rounds] = [arg(0, 400), arg(1, 3000), arg(2, 2)]
const ALL = ['execd', 'relay', 'bare', 'door', 'door-json']
const SIDES = process.env.BENCH_SIDES ? process.env.BENCH_SIDES.split(',') : ALL
const PROFILE = process.env.BENCH_PROFILE === '1'
const TOKEN = `bench-${crypto.randomUUID()}`
const BODY = (id: string) => JSON.stringify({ code: 'x + 1', context: { id, language: 'python' } })

interface Side {
  pid: number
  cell(): Promise<void>
  ping(): Promise<void>
  stop(): Promise<void>
}

const post = (url: string, body: string) =>
  fetch(`${url}/code`, {
    method: 'POST',
    headers: { 'X-EXECD-ACCESS-TOKEN': TOKEN, 'content-type': 'application/json' },
    body,
  })
/** GET /ping through `get` (execd's client carries its own token). */
const pinger = (get: () => Promise<Response>) => async () => {
  const res = await get()
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`/ping: ${res.status}`)
}

async function start(name: string, launcher: string[], doorBin: () => Promise<string>): Promise<Side> {
  if (name === 'execd') {
    const d = await startExecd({ launcher, startWithinMs: 120_000, bin: process.env.BENCH_EXECD_BIN ?? EXECD_BIN })
    const id = await createContext(d, 'python')
    await runCode(d, id, 'python', 'x = 1')
    return {
      pid: d.pid,
      cell: () => runCode(d, id, 'python', 'x + 1').then(() => {}),
      ping: pinger(() => d.fetch('/ping')),
      stop: d.stop,
    }
  }
  if (name === 'relay') {
    const r = await startPythonRelay('/usr/bin/python3', launcher, 120_000)
    const client = relayClient(r.url)
    await runCode(client, '', 'python', 'x = 1')
    return {
      pid: r.pid,
      cell: () => runCode(client, '', 'python', 'x + 1').then(() => {}),
      ping: pinger(() => fetch(`${r.url}/ping`)),
      stop: r.stop,
    }
  }
  const { proc, port } = await spawnPortPrinter([...launcher, await doorBin(), name], {
    ...process.env,
    DOOR_TOKEN: TOKEN,
  })
  const url = `http://127.0.0.1:${port}`
  const body = BODY('0c9b3f0e-6f4c-4c53-a1c4-6a9d0f1e2b3c')
  return {
    pid: proc.pid,
    cell: async () => {
      const res = await post(url, body)
      const text = await res.text()
      if (res.status !== 200 || !text.includes('execution_complete')) throw new Error(`${name}: ${res.status} ${text}`)
    },
    ping: pinger(() => fetch(`${url}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': TOKEN } })),
    stop: () => stopProcess(proc),
  }
}

await runThenClean(async () => {
  const dir = callgrindDir(PROFILE)
  const chains = Number(process.env.BENCH_CLOCK_CHAINS ?? 0)
  const extra = PROFILE
    ? ['--dump-instr=yes', ...(chains > 0 ? [`--separate-callers${chains}=clock_gettime*`] : [])]
    : []
  const launcher = callgrindLauncher(dir, extra)
  let built: string | undefined
  // Compiled with dist/execd's flags, as the relay is.
  const doorBin = async () => {
    if (built) return built
    if (process.env.BENCH_DOOR_BIN) return (built = process.env.BENCH_DOOR_BIN)
    return (built = await compileLikeExecd(join(import.meta.dir, 'lib', 'door-server.ts'), dir, 'door-server'))
  }
  const rows: string[] = []
  for (let round = 1; round <= rounds; round++) {
    for (const name of SIDES) {
      const side = await start(name, launcher, doorBin)
      for (let i = 0; i < warm; i++) await side.cell()
      for (let i = 0; i < warm; i++) await side.ping()
      const cell = await countRequests(dir, side.pid, requests, side.cell)
      if (PROFILE)
        console.log(
          `round ${round} ${name} cell, own cost per request:\n${profileLines(dir, dir, side.pid, requests).join('\n')}`,
        )
      const ping = await countRequests(dir, side.pid, requests, side.ping)
      if (PROFILE)
        console.log(
          `round ${round} ${name} ping, own cost per request:\n${profileLines(dir, dir, side.pid, requests).join('\n')}`,
        )
      const row = `round ${round} ${name.padEnd(9)} cell main ${Math.round(cell.main)} all ${Math.round(cell.all)}  ping main ${Math.round(ping.main)} all ${Math.round(ping.all)}  cell−ping main ${Math.round(cell.main - ping.main)}  [cell: ${cell.others}] [ping: ${ping.others}]`
      console.log(row)
      rows.push(row)
      await side.stop()
    }
  }
  console.log(`\ninstructions per request (callgrind, ${requests} counted after ${warm} warm + ${SETTLE}):`)
  for (const r of rows) console.log(r)
})
