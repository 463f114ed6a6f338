/**
 * Context creation time and warm round trip of the java and sql runtimes: first called
 * directly (the runtime's own cost), then over HTTP + SSE through dist/execd when it exists
 * (`POST /code/context`, then a warm `POST /code`). Not a test: `bun run bench/java-sql-runtimes.ts [runs]`.
 */
import { existsSync } from 'node:fs'
import { resolveConfig } from '../core/config'
import { createLogger } from '../core/log'
import type { Runtime } from '../core/plugin'
import { java } from '../plugins/java'
import { sql } from '../plugins/sql'
import { BIN, postJson, readSse, startDaemon } from '../spec/harness'
import { describeMs } from './lib/stats'

const runs = Number(process.argv[2] ?? 100)
const log = createLogger('silent')
const env = process.env as Record<string, string>

const cases: { runtime: Runtime; language: string; setup: string; trip: string; starts: number }[] = [
  { runtime: java, language: 'java', setup: 'int x = 1;', trip: 'x + 1', starts: 5 },
  {
    runtime: sql,
    language: 'sql',
    setup: 'CREATE TABLE t (x); INSERT INTO t VALUES (1)',
    trip: 'SELECT x + 1 FROM t',
    starts: 50,
  },
]

for (const c of cases) {
  const config = resolveConfig(c.runtime.options ?? [], {})
  const start = () => c.runtime.start({ language: c.language, cwd: process.cwd(), env, config, log })
  const starts: number[] = []
  for (let i = 0; i < c.starts; i++) {
    const t0 = performance.now()
    const ctx = await start()
    starts.push(performance.now() - t0)
    await ctx.close()
  }
  const ctx = await start()
  for await (const _ of ctx.run(c.setup)) void _
  const trips: number[] = []
  for (let i = 0; i < runs + 20; i++) {
    const t0 = performance.now()
    for await (const _ of ctx.run(c.trip)) void _
    if (i >= 20) trips.push(performance.now() - t0)
  }
  await ctx.close()
  console.log(`${c.language} direct: context start ${describeMs(starts)}; warm round trip ${describeMs(trips)}`)
}

if (existsSync(BIN)) {
  const d = await startDaemon()
  try {
    for (const c of cases) {
      const starts: number[] = []
      let id = ''
      for (let i = 0; i < c.starts; i++) {
        const t0 = performance.now()
        const res = await postJson(d, '/code/context', { language: c.language })
        id = (await res.json()).id
        starts.push(performance.now() - t0)
      }
      const run = async (code: string) =>
        readSse(await postJson(d, '/code', { code, context: { id, language: c.language } }))
      await run(c.setup)
      const trips: number[] = []
      for (let i = 0; i < runs + 20; i++) {
        const t0 = performance.now()
        await run(c.trip)
        if (i >= 20) trips.push(performance.now() - t0)
      }
      console.log(
        `${c.language} over HTTP+SSE: context creation ${describeMs(starts)}; warm round trip ${describeMs(trips)}`,
      )
      await d.fetch(`/code/contexts?language=${c.language}`, { method: 'DELETE' })
    }
  } finally {
    await d.stop()
  }
}
