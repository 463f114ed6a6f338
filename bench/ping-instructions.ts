/**
 * What each thing execd's `GET /ping` does costs natively, in instructions (callgrind, as
 * request-instructions.ts counts): lib/ping-server.ts compiled with dist/execd's flags, one
 * server per variant, each adding one step to the last (Bun's `routes`, the URL read, the
 * Headers object and the token read, the head walk), its pings counted after a warm-up. The
 * relay's /ping is `bare`; execd's does all of them and its own JavaScript besides.
 *
 *   bun run bench/ping-instructions.ts [requests=400] [warm=3000] [rounds=1]
 *   BENCH_VARIANTS=bare,walk   only these
 * Needs valgrind (vgdb switches the counting).
 */
import { join } from 'node:path'
import { callgrindDir, callgrindLauncher, countRequests } from './lib/callgrind'
import { compileLikeExecd } from './lib/compile'
import { runThenClean, spawnPortPrinter, stopProcess } from './lib/procs'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [requests, warm, rounds] = [arg(0, 400), arg(1, 3000), arg(2, 1)]
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'bare,routes,url,headers,walk').split(',')
const TOKEN = `bench-${crypto.randomUUID()}`

await runThenClean(async () => {
  const dir = callgrindDir()
  const bin = await compileLikeExecd(join(import.meta.dir, 'lib', 'ping-server.ts'), dir, 'ping-server')
  const rows: string[] = []
  for (let round = 1; round <= rounds; round++) {
    for (const variant of VARIANTS) {
      const { proc, port } = await spawnPortPrinter([...callgrindLauncher(dir), bin, variant], {
        ...process.env,
        PING_TOKEN: TOKEN,
      })
      const url = `http://127.0.0.1:${port}/ping`
      const ping = async () => {
        const res = await fetch(url, { headers: { 'X-EXECD-ACCESS-TOKEN': TOKEN } })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`${variant}: ${res.status}`)
      }
      for (let i = 0; i < warm; i++) await ping()
      const n = await countRequests(dir, proc.pid, requests, ping)
      const row = `round ${round} ${variant.padEnd(8)} main ${Math.round(n.main)} all ${Math.round(n.all)} [${n.others}]`
      console.log(row)
      rows.push(row)
      await stopProcess(proc)
    }
  }
  console.log(`\n/ping instructions per request (callgrind, ${requests} counted after ${warm} warm):`)
  for (const r of rows) console.log(r)
})
