/**
 * Whether execd's event loop is held while it splits a large sql cell: `/ping` asked every
 * 20 ms from a Worker while one cell of 64 MiB (by default) runs in an SQLite context: leading
 * comments before one SELECT (the statement's first keyword read where the splitter found it).
 * Prints each cell's time and the pings' median, p99 and max wait.
 * Not run by `make bench`: `bun run bench/sql-ping.ts [MiB=64]`; EXECD_BIN another build.
 */
import { readSse } from '../spec/harness'
import { startExecd, type Execd } from './lib/execd'
import { pingWaits } from './lib/ping-waits'
import { percentile } from './lib/stats'

const size = Math.round(Number(process.argv[2] ?? 64) * (1 << 20))
const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)

const cells: [string, () => string][] = [
  ['block comments, then SELECT', () => `/* ${fill('c')} */\nSELECT 1 AS x`],
  ['line comments, then SELECT', () => `${fill('-- a comment line\n')}\nSELECT 1 AS x`],
  ['empty block comments, then SELECT', () => `${fill('/**/')}\nSELECT 1 AS x`],
]

async function run(d: Execd, code: string): Promise<string> {
  const res = await d.post('/code/context', { language: 'sql' })
  const { id } = (await res.json()) as { id: string }
  const frames = (await readSse(await d.post('/code', { code, context: { id, language: 'sql' } }))) as {
    data?: { type?: string }
  }[]
  await (await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).arrayBuffer()
  if (process.env.BENCH_SQL_PING_SHOW) console.log(JSON.stringify(frames).slice(0, 400))
  const errors = frames.filter(f => f.data?.type === 'error').length
  return `${frames.filter(f => f.data?.type === 'result').length} results, ${errors} errors`
}

// The cell is one JSON body: past the default --max-json-bytes (16 MiB).
const d = await startExecd({ env: { EXECD_SQL_MAX_ROWS: '10', EXECD_MAX_JSON_BYTES: String(size + (8 << 20)) } })
try {
  for (const [name, make] of cells) {
    const code = make()
    let said = ''
    const t = performance.now()
    const waits = await pingWaits(d, async () => void (said = await run(d, code)), 20)
    const ms = performance.now() - t
    const p = (q: number) => percentile(waits, q / 100).toFixed(1)
    console.log(
      `${name.padEnd(36)} ${(code.length / (1 << 20)).toFixed(0)} MiB ${ms.toFixed(0).padStart(6)} ms (${said}); ` +
        `${waits.length} pings: median ${p(50)}, p99 ${p(99)}, max ${Math.max(...waits).toFixed(1)} ms`,
    )
  }
} finally {
  await d.stop()
}
