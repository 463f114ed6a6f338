/**
 * Row 9: the go runtime next to `go run` of the same program. A go cell is compiled and linked
 * as a program every time (gonb's model), so the floor is the toolchain's own: `go run` with the
 * build cache as warm as the context's (9b), and with an empty cache (9a, a first run).
 */
import { join } from 'node:path'
import { createContext, deleteContext, outputOf, requireCode, runCode } from '../lib/code'
import { reps } from '../lib/config'
import { type Execd, Skip, startExecd } from '../lib/execd'
import { interleave, timed } from '../lib/measure'
import { hasExecutable, makeTempDir, removeTempDir, spawnTracked } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import type { StreamEvent } from '../lib/sse'
import { summarize } from '../lib/stats'

const firstOutput = (e: StreamEvent) => (outputOf(e) ?? '').trim() !== '' || e.type === 'execution_complete'

/** `go run main.go` of `fmt.Println(<n> + 1)` with this GOCACHE; ms. */
async function goRun(dir: string, cache: string, n: number): Promise<number> {
  const file = join(dir, 'main.go')
  await Bun.write(file, `package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(${n} + 1)\n}\n`)
  return timed(async () => {
    const proc = spawnTracked(['go', 'run', file], {
      cwd: dir,
      env: { ...process.env, GOCACHE: cache, GOPROXY: 'off' },
      stdout: 'pipe',
      group: true,
    })
    const out = await new Response(proc.stdout as ReadableStream).text()
    await proc.exited
    if (out.trim() !== String(n + 1)) throw new Error(`go run printed ${JSON.stringify(out)}`)
  })
}

/** A go cell of a warm context printing `<n> + 1`, to its end; ms. */
async function warmCell(d: Execd, id: string, n: number): Promise<number> {
  const t0 = performance.now()
  const { events } = await runCode(d, id, 'go', `fmt.Println(${n} + 1)`)
  const out = events.map(outputOf).find(o => o !== undefined && o.trim() !== '')
  if (out?.trim() !== String(n + 1)) throw new Error(`go cell printed ${JSON.stringify(out)}`)
  return performance.now() - t0
}

/** A new go context and its first cell, to the first output; ms. The context is deleted after. */
async function contextToFirstOutput(d: Execd, n: number): Promise<{ start: number; first: number }> {
  const t0 = performance.now()
  const id = await createContext(d, 'go')
  const started = performance.now()
  const { events, at } = await runCode(d, id, 'go', `fmt.Println(${n} + 1)`, firstOutput)
  await deleteContext(d, id)
  const out = events.map(outputOf).find(o => o !== undefined && o.trim() !== '')
  if (out?.trim() !== String(n + 1)) throw new Error(`go: first output ${JSON.stringify(out)}`)
  return { start: started - t0, first: at - t0 }
}

export default {
  id: '9',
  title: 'go context and cells vs go run',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    const dir = makeTempDir('execd-bench-go-')
    try {
      await requireCode(d)
      if (!hasExecutable('go')) throw new Skip('no go on PATH (Debian golang-go)')
      let n = 0
      await contextToFirstOutput(d, n++) // builds the kernel once; also the availability check
      const warmCache = join(dir, 'warm-cache')
      await goRun(dir, warmCache, n++)
      const id = await createContext(d, 'go')
      await warmCell(d, id, n++)
      const starts: number[] = []
      const samples = await interleave(
        [
          {
            name: 'context',
            once: async () => {
              const { start, first } = await contextToFirstOutput(d, n++)
              starts.push(start)
              return first
            },
          },
          { name: 'cell', once: () => warmCell(d, id, n++) },
          { name: 'warm', once: () => goRun(dir, warmCache, n++) },
          { name: 'cold', once: () => goRun(dir, join(dir, `cold-cache-${n}`), n++) },
        ],
        { reps: reps(5), budgetMs: 90_000, minReps: 3 },
      )
      await deleteContext(d, id)
      const [context, cell, warm, cold] = (['context', 'cell', 'warm', 'cold'] as const).map(k => summarize(samples[k]))
      if (!context || !cell || !warm || !cold) throw new Error('go: a series has no samples')
      const start = summarize(starts)
      return [
        {
          row: '9a',
          what: 'go context → first cell output',
          ours: figure(context, 'ms'),
          baselineName: 'go run, empty build cache',
          baseline: figure(cold, 'ms'),
          ...timeRatio(context.median, cold.median),
          pass: null,
          note: `POST /code/context alone: ${Math.round(start.median)} ms median (the kernel is built once per toolchain)`,
        },
        {
          row: '9b',
          what: 'go warm cell (compile, link, run) to its end',
          ours: figure(cell, 'ms'),
          baselineName: 'go run, warm build cache',
          baseline: figure(warm, 'ms'),
          ...timeRatio(cell.median, warm.median),
          pass: null,
        },
      ]
    } finally {
      removeTempDir(dir)
      await d.stop()
    }
  },
} satisfies BenchRow
