/**
 * Where a warm `1 + 1`-sized cell's time goes, per language: for each of typescript, java and go,
 * one context, 3 cells to warm it, then `BENCH_WARM_CELLS` (20) cells `i + 1` back to back
 * through dist/execd. Prints each language's wall median and p90, and the CPU per cell of the
 * context's interpreter (with the children it reaped: go's `go build`, compile, link and the
 * cell's program) and of execd. Not a test: `bun run bench/warm-cells.ts [language…]`.
 */
import { childrenOf, postJson, readSse, startDaemon } from '../spec/harness'
import { describeMs } from './lib/stats'
import { cpuSeconds } from './lib/usage'

const cells = Number(process.env.BENCH_WARM_CELLS ?? 20)
const languages = process.argv.length > 2 ? process.argv.slice(2) : ['typescript', 'java', 'go']

const cpuOf = (pids: number[]) =>
  pids.reduce((sum, p) => {
    const c = cpuSeconds(p)
    return sum + c.own + c.children
  }, 0)

const d = await startDaemon({ env: { EXECD_LOG_LEVEL: 'error' } })
try {
  for (const language of languages) {
    const before = new Set(childrenOf(d.proc.pid).map(c => c.pid))
    const res = await postJson(d, '/code/context', { language })
    if (!res.ok) {
      console.log(`${language}: no context (${res.status} ${await res.text()})`)
      continue
    }
    const { id } = (await res.json()) as { id: string }
    const run = async (code: string) => {
      const t0 = performance.now()
      const events = await readSse(await postJson(d, '/code', { code, context: { id, language } }))
      if (!events.some(e => (e.data as { type?: string }).type === 'result'))
        throw new Error(`${language}: ${code} gave no result`)
      return performance.now() - t0
    }
    for (let i = 0; i < 3; i++) await run('1 + 1')
    const interpreter = childrenOf(d.proc.pid)
      .map(c => c.pid)
      .filter(p => !before.has(p))
    const c0 = cpuOf(interpreter)
    const e0 = cpuSeconds(d.proc.pid).own
    const times: number[] = []
    for (let i = 0; i < cells; i++) times.push(await run(`${i} + 1`))
    const perCell = (s: number) => ((s * 1000) / cells).toFixed(1)
    console.log(
      `${language}: ${describeMs(times)}; CPU per cell: interpreter ${perCell(cpuOf(interpreter) - c0)} ms, execd ${perCell(cpuSeconds(d.proc.pid).own - e0)} ms`,
    )
    await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
  }
} finally {
  await d.stop()
}
