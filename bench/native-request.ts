/**
 * Bun's native work per request, piece by piece: a bare Bun.serve (bench/lib/native-variants.ts)
 * answers a warm cell's request in the relay's shape and in variants that each add one thing
 * execd's request makes (every header visited, the header reads, request.signal, the body read
 * under a timer and decoded strictly, the answer as bytes, a shared Headers, a stream, a
 * charset). The server's CPU per request (all its threads, /proc schedstat) in rounds whose
 * variants take turns, each round's figure against the relay's in the same round. The dispatcher
 * reads the URL in every variant. Not run by `make bench`.
 *
 *   bun run bench/native-request.ts [rounds=8] [requests per round=2000] [warm-up per variant=3000]
 *   BENCH_VARIANTS=relayAgain,bytesBody   only these (and the relay)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLineChild } from './lib/line-child'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [rounds, perRound, warmup] = [arg(0, 8), arg(1, 2000), arg(2, 3000)]
const ALL = [
  'relay',
  'relayAgain',
  'headBytes',
  'headerGets',
  'url',
  'signal',
  'bodyRead',
  'bodyBytes',
  'bodyText',
  'bodyTimer',
  'bytesBody',
  'encodedBody',
  'sharedHeaders',
  'streamBody',
  'charset',
]
/** BENCH_VARIANTS=relay,bytesBody: some of them (the relay always included). */
const VARIANTS = process.env.BENCH_VARIANTS
  ? ['relay', ...process.env.BENCH_VARIANTS.split(',').filter(v => v !== 'relay')]
  : ALL
const BODY = JSON.stringify({
  code: 'x + 1',
  context: { id: '0c9b3f0e-6f4c-4c53-a1c4-6a9d0f1e2b3c', language: 'python' },
})
const HEADERS = { 'content-type': 'application/json', 'X-EXECD-ACCESS-TOKEN': `bench-${crypto.randomUUID()}` }

await runThenClean(async () => {
  const server = startLineChild([process.execPath, join(import.meta.dir, 'lib', 'native-variants.ts')])
  const url = `http://127.0.0.1:${await server.ask('port')}`
  const once = async (variant: string) => {
    const res = await fetch(`${url}/code/${variant}`, { method: 'POST', headers: HEADERS, body: BODY })
    const text = await res.text()
    if (res.status !== 200 || !text.includes('execution_complete')) throw new Error(`${variant}: ${res.status} ${text}`)
  }
  for (const v of VARIANTS) for (let i = 0; i < warmup; i++) await once(v)
  const perRequest: Record<string, number[]> = Object.fromEntries(VARIANTS.map(v => [v, []]))
  const overRelay: Record<string, number[]> = Object.fromEntries(VARIANTS.map(v => [v, []]))
  const loads: number[] = []
  for (let r = 0; r < rounds; r++) {
    loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    // Rotate the order, so no variant always follows the same one.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!)
    const round: Record<string, number> = {}
    for (const v of order) {
      const t0 = threadCpuMs(server.pid).all
      for (let i = 0; i < perRound; i++) await once(v)
      round[v] = ((threadCpuMs(server.pid).all - t0) * 1000) / perRound
      perRequest[v]!.push(round[v]!)
    }
    for (const v of VARIANTS) overRelay[v]!.push(round[v]! - round.relay!)
  }
  await server.stop()
  console.log(
    `${rounds} rounds of ${perRound} per variant after ${warmup} each; load average ${percentile(loads, 0.5).toFixed(1)} (${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)})`,
  )
  console.log(
    'variant         µs of server CPU per request (median)   over the relay in its round (median, rounds above 0)',
  )
  for (const v of VARIANTS) {
    const d = overRelay[v]!
    console.log(
      `${v.padEnd(15)} ${percentile(perRequest[v]!, 0.5).toFixed(1).padStart(8)}   ${percentile(d, 0.5) >= 0 ? '+' : ''}${percentile(d, 0.5).toFixed(1)} (${d.filter(x => x > 0).length} of ${rounds})`,
    )
  }
})
