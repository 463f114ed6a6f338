/**
 * Context creation time and warm round trip of the javascript runtime, called directly (no
 * HTTP), so the numbers are the runtime's own. Run from sources (`bun run`, the interpreter is
 * bun) or compiled (`bun build --compile bench/javascript-runtime.ts`, the interpreter is that
 * executable, as with dist/execd): `[runs]` defaults to 200. Then, when dist/execd exists, the
 * same over HTTP + SSE: `POST /code/context` and a warm `POST /code` of `x + 1`.
 */
import { existsSync } from 'node:fs'
import { BIN, postJson, readSse, startDaemon } from '../spec/harness'
import { Config } from '../core/config'
import { createLogger } from '../core/log'
import { javascript } from '../plugins/javascript'
import { describeMs } from './lib/stats'

const runs = Number(process.argv[2] ?? 200)
const config = new Config({}, javascript.options ?? [])
const log = createLogger('silent')
const env = process.env as Record<string, string>

for (const language of ['javascript', 'typescript']) {
  const starts: number[] = []
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now()
    const ctx = await javascript.start({ language, cwd: process.cwd(), env, config, log })
    starts.push(performance.now() - t0)
    await ctx.close()
  }
  const ctx = await javascript.start({ language, cwd: process.cwd(), env, config, log })
  for await (const _ of ctx.run('let x = 1')) void _
  const trips: number[] = []
  for (let i = 0; i < runs + 20; i++) {
    const t0 = performance.now()
    for await (const _ of ctx.run('x + 1')) void _
    if (i >= 20) trips.push(performance.now() - t0)
  }
  await ctx.close()
  console.log(
    `${language} (interpreter ${process.execPath}): context start ${describeMs(starts)}; warm x + 1 ${describeMs(trips)}`,
  )
}

if (existsSync(BIN)) {
  const d = await startDaemon()
  try {
    for (const language of ['javascript', 'typescript']) {
      const creates: number[] = []
      let id = ''
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now()
        id = ((await (await postJson(d, '/code/context', { language })).json()) as { id: string }).id
        creates.push(performance.now() - t0)
      }
      const cell = async (code: string) => readSse(await postJson(d, '/code', { code, context: { id, language } }))
      await cell('let x = 1')
      const trips: number[] = []
      for (let i = 0; i < runs + 20; i++) {
        const t0 = performance.now()
        await cell('x + 1')
        if (i >= 20) trips.push(performance.now() - t0)
      }
      await d.fetch(`/code/contexts?language=${language}`, { method: 'DELETE' })
      console.log(
        `${language} over HTTP (${BIN}): POST /code/context ${describeMs(creates)}; warm x + 1 ${describeMs(trips)}`,
      )
    }
  } finally {
    await d.stop()
  }
}
