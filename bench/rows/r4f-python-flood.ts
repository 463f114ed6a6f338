/**
 * Row 4f: a python cell's output flood — `print` of 112-byte lines (a number and 100 x's, as
 * `print(i, 'x' * 100)` prints them) through `POST /code` SSE, vs row 4a's command writing as
 * many bytes into a plain pipe. Where a flood of short lines costs execd most: the driver sent a
 * message a line until stop 52 (21–30 ms of execd's CPU per MiB), batches since. BENCH_PY_BYTES
 * (128 MiB): python's own print is the slower side here, so not row 4's GiB.
 */
import { requireCode, createContext } from '../lib/code'
import { reps } from '../lib/config'
import { type Execd, startExecd } from '../lib/execd'
import { type Flood, floodThrough, GUARD_NOTE } from '../lib/flood'
import { interleave } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { summarize } from '../lib/stats'
import { floodCommand, pipeRate } from './r4-output-throughput'

const MiB = 1024 * 1024
const LINE = 112
const bytes = Math.floor(Number(process.env.BENCH_PY_BYTES || 128 * MiB) / LINE) * LINE

/** The lines, then the cell's own CPU seconds for them (os.times) on a line of its own. */
const cell =
  `import os\nt = os.times()\nline = '0' * ${LINE - 1}\nfor _ in range(${bytes / LINE}): print(line)\n` +
  `u = os.times()\nprint('writer', u.user - t.user + u.system - t.system)`

/** The flood, with the cell's own CPU per MiB (its print) from the line it prints after. */
async function flood(d: Execd, context: string): Promise<Flood & { pythonMs: number }> {
  const f = await floodThrough(d, '/code', { code: cell, context: { id: context, language: 'python' } }, bytes, () =>
    d.fetch(`/code/contexts/${context}`, { method: 'DELETE' }).then(r => r.arrayBuffer()),
  )
  if (f.guarded) throw new Error(GUARD_NOTE)
  const writer = Number(/writer ([\d.e-]+)/.exec(f.tail ?? '')?.[1])
  return { ...f, pythonMs: (writer * 1000) / (bytes / MiB) }
}

export default {
  id: '4f',
  title: "a python cell's output flood",
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    try {
      await requireCode(d)
      const context = await createContext(d, 'python')
      await flood(d, context) // the first one's JIT and first faults are not the steady state
      const floods: Awaited<ReturnType<typeof flood>>[] = []
      const samples = await interleave(
        [
          {
            name: 'execd',
            once: async () => {
              const f = await flood(d, context)
              floods.push(f)
              return f.rate
            },
          },
          { name: 'pipe', once: () => pipeRate(floodCommand(bytes), bytes) },
        ],
        { reps: reps(3, 2), budgetMs: 150_000, minReps: 2 },
      )
      const ours = summarize(samples.execd)
      const base = summarize(samples.pipe ?? [])
      const median = (xs: number[]) => summarize(xs).median
      return [
        {
          row: '4f',
          what: `a python cell's stdout throughput, ${(bytes / MiB).toFixed(0)} MiB of ${LINE}-byte lines via SSE`,
          ours: figure(ours, 'MiB/s'),
          baselineName: "4a's command writing as many bytes, plain pipe (pipe2)",
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(ours.median, base.median),
          note:
            `execd's CPU ${median(floods.map(f => f.cpuMsPerMiB!)).toFixed(1)} ms per MiB, the cell's own ` +
            `${median(floods.map(f => f.pythonMs)).toFixed(1)} (its print); execd's peak RSS ` +
            `${Math.max(...floods.map(f => f.peak)).toFixed(0)} MiB`,
        },
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
