/**
 * Context creation time and warm round trip of the Jupyter bridge against a real Jupyter
 * server started here (Debian jupyter-server + python3-ipykernel): first the runtime called
 * directly (no HTTP), then, when dist/execd exists, over HTTP + SSE with python served by the
 * bridge (--prefer-jupyter) beside python served natively, in the same run.
 * `bun run bench/jupyter-bridge.ts [runs]`, runs defaulting to 100.
 */
import { existsSync } from 'node:fs'
import { resolveConfig, SERVER_OPTIONS } from '../core/config'
import { createLogger } from '../core/log'
import { jupyter } from '../plugins/jupyter'
import { jupyterMissing, startJupyter } from '../plugins/jupyter/test-server'
import { BIN, postJson, readSse, startDaemon } from '../spec/harness'
import { describeMs } from './lib/stats'

const runs = Number(process.argv[2] ?? 100)
const missing = await jupyterMissing()
if (missing) {
  console.log(`jupyter bridge: skipped (${missing})`)
  process.exit(0)
}

const server = await startJupyter()
try {
  const flags = { 'jupyter-host': server.url, 'jupyter-token': server.token }
  const config = resolveConfig([...SERVER_OPTIONS, ...(jupyter.options ?? [])], flags, {})
  const log = createLogger('silent')
  const starts: number[] = []
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now()
    const ctx = await jupyter.start({ language: 'python', cwd: server.root, env: {}, config, log })
    starts.push(performance.now() - t0)
    await ctx.close()
  }
  const ctx = await jupyter.start({ language: 'python', cwd: server.root, env: {}, config, log })
  for await (const _ of ctx.run('x = 1')) void _
  const trips: number[] = []
  for (let i = 0; i < runs + 10; i++) {
    const t0 = performance.now()
    for await (const _ of ctx.run('x + 1')) void _
    if (i >= 10) trips.push(performance.now() - t0)
  }
  await ctx.close()
  console.log(`jupyter bridge, runtime direct: context start ${describeMs(starts)}; warm x + 1 ${describeMs(trips)}`)

  if (existsSync(BIN)) {
    for (const [label, extra] of [
      ['python via the bridge', ['--prefer-jupyter']],
      ['python native', []],
    ] as const) {
      const d = await startDaemon({ args: ['--jupyter-host', server.url, '--jupyter-token', server.token, ...extra] })
      try {
        const creates: number[] = []
        let id = ''
        for (let i = 0; i < 10; i++) {
          if (id) await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
          const t0 = performance.now()
          id = ((await (await postJson(d, '/code/context', { language: 'python' })).json()) as { id: string }).id
          creates.push(performance.now() - t0)
        }
        const cell = async (code: string) =>
          readSse(await postJson(d, '/code', { code, context: { id, language: 'python' } }))
        await cell('x = 1')
        const trips: number[] = []
        for (let i = 0; i < runs + 10; i++) {
          const t0 = performance.now()
          await cell('x + 1')
          if (i >= 10) trips.push(performance.now() - t0)
        }
        console.log(
          `${label} over HTTP (${BIN}): POST /code/context ${describeMs(creates)}; warm x + 1 ${describeMs(trips)}`,
        )
      } finally {
        await d.stop()
      }
    }
  }
} finally {
  await server.stop()
}
