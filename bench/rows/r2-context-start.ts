/**
 * Row 2: context creation to first result. Python vs a Jupyter kernel start (REST create,
 * WebSocket, execute); every other runtime vs its interpreter started cold over a pipe.
 */
import { jupyterMissing, startJupyter } from '../baselines/jupyter'
import { createContext, deleteContext, outputOf, requireCode, runCode } from '../lib/code'
import { reps } from '../lib/config'
import { type Execd, Skip, startExecd } from '../lib/execd'
import { interleave, type Side, timed } from '../lib/measure'
import { hasExecutable } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, speedup, timeRatio } from '../lib/row'
import type { StreamEvent } from '../lib/sse'
import { summarize } from '../lib/stats'

interface Language {
  name: string
  code: string
  /** The same work done by the bare interpreter, cold: argv and stdin. */
  cold: { argv: string[]; stdin?: string; label: string }
}

const BUN = `${import.meta.dir}/../../node_modules/.bin/bun`

const PYTHON: Language = {
  name: 'python',
  code: '1 + 1',
  cold: { argv: ['/usr/bin/python3', '-c', 'print(1 + 1)'], label: 'python3 -c' },
}

const OTHERS: Language[] = [
  { name: 'javascript', code: '1 + 1', cold: { argv: ['node', '-p', '1 + 1'], label: 'node -p' } },
  {
    name: 'typescript',
    code: 'const one: number = 1; one + 1',
    cold: { argv: [BUN, '-p', 'const one: number = 1; one + 1'], label: 'bun -p' },
  },
  { name: 'bash', code: 'echo $((1 + 1))', cold: { argv: ['bash', '-c', 'echo $((1 + 1))'], label: 'bash -c' } },
  {
    name: 'java',
    code: '1 + 1',
    cold: { argv: ['jshell', '-q', '-'], stdin: 'System.out.println(1 + 1)\n', label: 'jshell -' },
  },
  { name: 'sql', code: 'SELECT 1 + 1', cold: { argv: ['sqlite3', ':memory:', 'SELECT 1 + 1'], label: 'sqlite3' } },
]

const firstOutput = (e: StreamEvent) => (outputOf(e) ?? '').trim() !== '' || e.type === 'execution_complete'

/** Create a context and run code up to its first output; ms. The context is deleted after. */
async function contextToFirstResult(d: Execd, language: string, code: string): Promise<number> {
  const t0 = performance.now()
  const id = await createContext(d, language)
  const { events, at } = await runCode(d, id, language, code, firstOutput)
  await deleteContext(d, id)
  const out = events.map(outputOf).find(o => o !== undefined && o.trim() !== '')
  if (!out?.includes('2')) throw new Error(`${language}: first output ${JSON.stringify(out)} does not show 2`)
  return at - t0
}

async function cold(lang: Language): Promise<number> {
  return timed(async () => {
    const proc = Bun.spawn(lang.cold.argv, {
      stdin: lang.cold.stdin ? 'pipe' : 'ignore',
      stdout: 'pipe',
      stderr: 'ignore',
    })
    if (lang.cold.stdin) {
      proc.stdin!.write(lang.cold.stdin)
      proc.stdin!.end()
    }
    const out = await new Response(proc.stdout).text()
    await proc.exited
    if (!out.includes('2')) throw new Error(`${lang.cold.label}: printed ${JSON.stringify(out)}`)
  })
}

/**
 * Python three ways: the default daemon (it keeps one idle interpreter ready, refilled 200 ms
 * after each use), a daemon started with EXECD_PYTHON_SPARE=0 (every context starts python),
 * and the floor, a cold `python3 -c`.
 */
async function python(d: Execd): Promise<RowResult[]> {
  const what = 'python context → first result'
  const noSpare = await startExecd({ env: { EXECD_PYTHON_SPARE: '0' } })
  const noJupyter = jupyterMissing()
  const jupyter = noJupyter ? null : await startJupyter()
  try {
    const sides: Side[] = [
      { name: 'execd', once: () => contextToFirstResult(d, 'python', '1 + 1') },
      { name: 'nospare', once: () => contextToFirstResult(noSpare, 'python', '1 + 1') },
      { name: 'cold', once: () => cold(PYTHON) },
    ]
    if (jupyter) {
      sides.push({
        name: 'jupyter',
        once: async () => {
          const t0 = performance.now()
          const kernel = await jupyter.createKernel()
          const channel = await jupyter.connect(kernel)
          const { result } = await channel.execute('1 + 1')
          const ms = performance.now() - t0
          channel.close()
          await jupyter.deleteKernel(kernel)
          if (result !== '2') throw new Error(`jupyter: 1 + 1 gave ${result}`)
          return ms
        },
      })
    }
    const samples = await interleave(sides, { reps: reps(10), warmup: 1, budgetMs: 60_000, minReps: 3 })
    const ours = summarize(samples.execd ?? [])
    const cold1 = summarize(samples.nospare ?? [])
    const floor = summarize(samples.cold ?? [])
    const vsCold: RowResult = {
      row: '2c',
      what: `${what}, no spare, vs the floor`,
      ours: figure(cold1, 'ms'),
      baselineName: `cold ${PYTHON.cold.label}`,
      baseline: figure(floor, 'ms'),
      ...timeRatio(cold1.median, floor.median),
      pass: null,
    }
    if (!jupyter) {
      return [
        { row: '2a', what, ours: figure(ours, 'ms'), skipped: noJupyter! },
        { row: '2b', what: `${what}, no spare`, ours: figure(cold1, 'ms'), skipped: noJupyter! },
        vsCold,
      ]
    }
    const base = summarize(samples.jupyter ?? [])
    const jupyterName = 'Jupyter kernel start (REST + WS + execute)'
    return [
      {
        row: '2a',
        what: `${what} (default: a spare interpreter is ready)`,
        ours: figure(ours, 'ms'),
        baselineName: jupyterName,
        baseline: figure(base, 'ms'),
        ...speedup(ours.median, base.median, 15),
        note: 'execd keeps one idle python ready and refills it 200 ms after use; 2b is the start without it.',
      },
      {
        row: '2b',
        what: `${what}, no spare (EXECD_PYTHON_SPARE=0)`,
        ours: figure(cold1, 'ms'),
        baselineName: jupyterName,
        baseline: figure(base, 'ms'),
        ...speedup(cold1.median, base.median, 15),
      },
      vsCold,
    ]
  } finally {
    await Promise.allSettled([jupyter?.stop(), noSpare.stop()])
  }
}

async function other(d: Execd, lang: Language, row: string): Promise<RowResult> {
  const what = `${lang.name} context → first result`
  try {
    await contextToFirstResult(d, lang.name, lang.code) // warm-up; also the availability check
    const [coldExecutable = ''] = lang.cold.argv
    const haveCold = hasExecutable(coldExecutable)
    const sides: Side[] = [{ name: 'execd', once: () => contextToFirstResult(d, lang.name, lang.code) }]
    if (haveCold) sides.push({ name: 'cold', once: () => cold(lang) })
    const samples = await interleave(sides, { reps: reps(5), budgetMs: 30_000, minReps: 3 })
    const ours = summarize(samples.execd ?? [])
    if (!haveCold)
      return { row, what, ours: figure(ours, 'ms'), pass: null, note: `no ${lang.cold.argv[0]} for the cold baseline` }
    const base = summarize(samples.cold ?? [])
    return {
      row,
      what,
      ours: figure(ours, 'ms'),
      baselineName: `cold ${lang.cold.label}`,
      baseline: figure(base, 'ms'),
      ...timeRatio(ours.median, base.median),
      pass: null,
    }
  } catch (e) {
    if (e instanceof Skip) return { row, what, skipped: e.message }
    return { row, what, error: (e as Error).message.slice(0, 200) }
  }
}

export default {
  id: '2',
  title: 'context creation to first result',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    try {
      await requireCode(d)
      const rows: RowResult[] = []
      try {
        rows.push(...(await python(d)))
      } catch (e) {
        if (!(e instanceof Skip)) throw e
        rows.push({ row: '2a', what: 'python context → first result', skipped: e.message })
      }
      const letters = 'defghi'
      for (const [i, lang] of OTHERS.entries()) rows.push(await other(d, lang, `2${letters[i]}`))
      return rows
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
