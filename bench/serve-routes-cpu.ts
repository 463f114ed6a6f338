/**
 * Would Bun.serve's own `routes` (a static path matched natively) answer POST /code for less than
 * a `fetch` handler that finds the path itself, as execd's front door does? Two compiled servers
 * (dist/execd's flags), the same handler behind each (the token header read, the body read whole,
 * decoded strictly and parsed, a short SSE body answered), one finding it by `routes`, the other
 * by `fetch`; a plain Node keep-alive client; the servers' CPU per request from
 * /proc/<pid>/task/*\/schedstat in rounds that take turns. Not run by `make bench`.
 *
 *   bun run bench/serve-routes-cpu.ts [rounds=12] [requests per round=4000]
 */
import { join } from 'node:path'
import { startNodeClient, type NodeClient } from './lib/node-client'
import { freePort, makeTempDir, runThenClean, spawnTracked, stopProcess } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'
import { compileLikeExecd } from './lib/compile'

const rounds = Number(process.argv[2] ?? 12)
const perRound = Number(process.argv[3] ?? 4000)
const WARMUP = 5000

const SOURCE = `
const [mode, port] = [process.argv[2], Number(process.argv[3])]
const strict = new TextDecoder('utf-8', { fatal: true })
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
async function answer(request) {
  if (request.headers.get('x-execd-access-token') === null) return new Response(null, { status: 401 })
  const body = JSON.parse(strict.decode(await request.arrayBuffer()))
  return new Response('id: 1\\ndata: {"type":"execution_complete","code":' + JSON.stringify(body.code) + '}\\n\\n', { headers: HEADERS })
}
const missing = () => new Response(null, { status: 404 })
if (mode === 'routes') Bun.serve({ hostname: '127.0.0.1', port, routes: { '/code': { POST: answer } }, fetch: missing })
else
  Bun.serve({
    hostname: '127.0.0.1',
    port,
    fetch(request) {
      const url = request.url
      const start = url.indexOf('/', url.indexOf('//') + 2)
      const q = url.indexOf('?', start)
      const path = q < 0 ? url.slice(start) : url.slice(start, q)
      return path === '/code' && request.method === 'POST' ? answer(request) : missing()
    },
  })
`

interface Side {
  name: string
  pid: number
  client: NodeClient
  all: number[]
  main: number[]
  wall: number[]
}

async function build(): Promise<string> {
  const dir = makeTempDir('routes')
  await Bun.write(join(dir, 'server.ts'), SOURCE)
  return compileLikeExecd(join(dir, 'server.ts'), dir, 'server')
}

async function start(bin: string, name: string): Promise<Side & { stop(): Promise<void> }> {
  const port = await freePort()
  const proc = spawnTracked([bin, name, String(port)], { group: true })
  const url = `http://127.0.0.1:${port}`
  for (
    let i = 0;
    !(await fetch(`${url}/ping`).then(
      r => r.status === 404,
      () => false,
    ));
    i++
  ) {
    if (i > 300) throw new Error(`${name} server did not answer`)
    await Bun.sleep(10)
  }
  const client = startNodeClient(url, 'token')
  const stop = async () => {
    await client.stop()
    await stopProcess(proc)
  }
  return { name, pid: proc.pid, client, all: [], main: [], wall: [], stop }
}

const request = { method: 'POST' as const, path: '/code', body: { code: 'x + 1', context: { language: 'python' } } }

async function round(s: Side, n: number): Promise<void> {
  const before = threadCpuMs(s.pid)
  const walls: number[] = []
  for (let i = 0; i < n; i++) walls.push((await s.client.run(request)).ms)
  const after = threadCpuMs(s.pid)
  s.all.push(((after.all - before.all) / n) * 1000)
  s.main.push(((after.main - before.main) / n) * 1000)
  s.wall.push(percentile(walls, 0.5) * 1000)
}

async function main(): Promise<void> {
  const bin = await build()
  const byFetch = await start(bin, 'fetch')
  const byRoutes = await start(bin, 'routes')
  const sides = [byFetch, byRoutes]
  for (const s of sides) await round(s, WARMUP)
  for (const s of sides) for (const k of ['all', 'main', 'wall'] as const) s[k].length = 0
  for (let r = 0; r < rounds; r++) for (const s of r % 2 ? [...sides].reverse() : sides) await round(s, perRound)
  const med = (xs: number[]) => percentile(xs, 0.5).toFixed(1)
  console.log(`${rounds} rounds of ${perRound} after ${WARMUP} warm, µs per request (medians of rounds)`)
  for (const s of sides)
    console.log(`${s.name.padEnd(7)} CPU all ${med(s.all)} main ${med(s.main)} | wall p50 ${med(s.wall)}`)
  const lower = byRoutes.all.filter((x, i) => x < (byFetch.all[i] ?? NaN)).length
  console.log(`routes lower than fetch in ${lower} of ${rounds} rounds (CPU, all threads)`)
  for (const s of sides) await s.stop()
}

await runThenClean(main)
