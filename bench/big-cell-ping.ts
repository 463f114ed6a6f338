/**
 * Whether execd's event loop is held while it takes in one large cell: `/ping` asked every 20 ms
 * from a Worker while a cell of N MiB (a comment the interpreter skips, then one short statement)
 * runs in a sql, python, javascript and bash context. The daemon runs the loop-lag probe
 * (core/loop-lag.ts): of its stalls (a turn 50 ms late or more), `runMs` is what execd's main
 * thread held on a CPU, `waitMs` the machine's load. With several builds, each language's cell
 * runs in each build in turn, so builds are compared in the same minutes.
 * Not run by `make bench`:
 *   bun run bench/big-cell-ping.ts [MiB=15.9] [rounds=1] [execd…]
 * A size past 15.9 MiB (the default --max-json-bytes is 16 MiB) raises the cap for it;
 * BENCH_BIG_CELL_LANGUAGES=sql,python picks languages; BENCH_BIG_CELL_QUERY='?x=1' posts the cell
 * with that query string (a route asked with one was handed to Elysia, which parsed its body whole);
 * BENCH_BIG_CELL_EXTRA='{"extra":1}' adds those members to the body (a member no schema names, or
 * `{"context":{"id":"@ID@","language":"sql","cwd":null}}` a null optional: no direct route then).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readSse } from '../spec/harness'
import { startExecd, EXECD_BIN, type Execd } from './lib/execd'
import { stallsOf } from './lib/loop-stalls'
import { pingWaits } from './lib/ping-waits'
import { makeTempDir, removeTempDir, runThenClean } from './lib/procs'

const mib = Number(process.argv[2] ?? 15.9)
const rounds = Number(process.argv[3] ?? 1)
const builds = process.argv.length > 4 ? process.argv.slice(4) : [EXECD_BIN]
const size = Math.round(mib * (1 << 20))
const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
const GAP_MS = 20

/** Each language's cell: a comment of `size` characters its interpreter skips, then one line. */
const CELLS: Record<string, () => string> = {
  sql: () => `/* ${fill('c')} */\nSELECT 1 AS x`,
  python: () => `# ${fill('c')}\nprint(1)`,
  javascript: () => `/* ${fill('c')} */\nconsole.log(1)`,
  bash: () => `# ${fill('c')}\necho 1`,
}
const languages = (process.env.BENCH_BIG_CELL_LANGUAGES ?? 'sql,python,javascript,bash').split(',')
const query = process.env.BENCH_BIG_CELL_QUERY ?? ''
const extra = JSON.parse(process.env.BENCH_BIG_CELL_EXTRA ?? '{}') as Record<string, unknown>

async function run(d: Execd, language: string, body: string): Promise<string> {
  const res = await d.post('/code/context', { language })
  if (res.status !== 200) throw new Error(`${language} context: ${res.status} ${await res.text()}`)
  const { id } = (await res.json()) as { id: string }
  const answer = await d.fetch(`/code${query}`, { method: 'POST', body: body.replace('"@ID@"', JSON.stringify(id)) })
  let said: string
  if (answer.headers.get('content-type')?.includes('text/event-stream')) {
    const frames = (await readSse(answer)) as { data?: { type?: string; text?: string; error?: { ename?: string } } }[]
    const kinds = frames.map(f => f.data?.type).filter(Boolean)
    const error = frames.find(f => f.data?.type === 'error')?.data?.error?.ename
    said = `${kinds.includes('execution_complete') ? 'complete' : 'no end'}${error ? ` (${error})` : ''}`
  } else said = `${answer.status} ${(await answer.text()).slice(0, 120)}`
  await (await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).arrayBuffer()
  return said
}

async function main(): Promise<void> {
  const logs = makeTempDir('big-cell-ping-')
  // The cell is one JSON body: past the default --max-json-bytes (16 MiB), raised for it.
  const env: Record<string, string> = size > 15.9 * (1 << 20) ? { EXECD_MAX_JSON_BYTES: String(size + (8 << 20)) } : {}
  const daemons = await Promise.all(
    builds.map(async (bin, i) => {
      const lag = join(logs, `lag-${i}.jsonl`)
      return { bin, lag, d: await startExecd({ bin, env: { ...env, EXECD_LOOP_LAG_LOG: lag } }) }
    }),
  )
  try {
    console.log(
      `${mib} MiB cells, /ping every ${GAP_MS} ms, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    )
    for (let r = 0; r < rounds; r++)
      for (const language of languages) {
        const body = JSON.stringify({ code: CELLS[language]!(), context: { id: '@ID@', language }, ...extra })
        for (const { bin, lag, d } of daemons) {
          const before = stallsOf(lag).length
          let said = ''
          const t = performance.now()
          const waits = await pingWaits(d, async () => void (said = await run(d, language, body)), GAP_MS)
          const ms = performance.now() - t
          const stalls = stallsOf(lag).slice(before)
          const most = (key: 'lagMs' | 'runMs' | 'waitMs') => Math.max(0, ...stalls.map(s => s[key]))
          console.log(
            `${language.padEnd(10)} ${bin.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms (${said}); ` +
              `${waits.length} pings, max ${Math.max(...waits).toFixed(0)} ms; ` +
              `longest stall ${most('lagMs')} ms (on CPU ${most('runMs')}, waiting ${most('waitMs')})`,
          )
        }
      }
  } finally {
    await Promise.all(daemons.map(({ d }) => d.stop()))
    removeTempDir(logs)
  }
}

await runThenClean(main)
