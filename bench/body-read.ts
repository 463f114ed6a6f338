/**
 * Instructions of a warm cell's body read in plain bun (callgrind, bench/lib/callgrind-loop.ts):
 * `readRequestJson` of a `POST /code` request as the SDK sends it (announced length, the body's
 * 408 deadline as serve sets it), then `parseJsonBody`, as the front door does. Run it from two
 * trees (the old one a copy of main beside this one) to set a change in core/body.ts against its
 * old count; the daemon's own count per cell moves ±10–20k with its JIT, far above this.
 *
 *   bun run bench/body-read.ts [many=21000] [few=1000]
 *   BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 …   steadier (see execution-start.ts)
 */
import { parseJsonBody, readRequestJson } from '../core/body'
import { perCall } from './lib/callgrind-loop'

const BODY = JSON.stringify({ code: 'x + 1', context: { id: 'f'.repeat(32), language: 'python' } })
const LIMITS = { maxBytes: 16 * 1024 * 1024, timeoutMs: 60_000 }

async function one(n: number): Promise<void> {
  let keep = 0
  for (let i = 0; i < n; i++) {
    const request = new Request('http://127.0.0.1/code', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(BODY.length) },
      body: BODY,
    })
    const body = parseJsonBody(await readRequestJson(request, LIMITS)) as { code: string }
    keep += body.code.length
  }
  console.log(keep)
  process.exit(0)
}

if (process.env.BENCH_ONE) await one(Number(process.env.BENCH_ONE.split(' ')[1]))
else {
  const per = await perCall(
    import.meta.path,
    'body',
    Number(process.argv[2] ?? 21_000),
    Number(process.argv[3] ?? 1000),
  )
  console.log(`body read ${per.toFixed(0)} instructions a call`)
}
