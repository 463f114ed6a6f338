/**
 * Row 12: a code cell's output flood — row 4a's command (BENCH_BYTES of 1 KiB lines) run as a
 * bash cell (`POST /code` in a bash context, one context for every flood), read through its SSE
 * stream, against the same command read from a plain pipe; and execd's peak RSS meanwhile, judged
 * as a command's (4b) and a session's (4e) are. A cell's output goes through its queue and its
 * execution's journal (plugins/bash/context.ts, core/journal.ts), not a command's run.
 */
import { createContext } from '../lib/code'
import { benchConfig, reps } from '../lib/config'
import { requireCommands } from '../lib/command'
import { type Execd, startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { type Flood, floodThrough, GUARD_NOTE, peakRow } from '../lib/flood'
import { summarize } from '../lib/stats'
import { floodCommand, pipeRate } from './r4-output-throughput'

const MiB = 1024 * 1024

/** The flood as a cell of the bash context `context`; cut by the guard, the context goes, and the cell with it. */
const floodThroughCell = (d: Execd, context: string, code: string, bytes: number): Promise<Flood> =>
  floodThrough(d, '/code', { code, context: { id: context, language: 'bash' } }, bytes, () =>
    d.fetch(`/code/contexts/${context}`, { method: 'DELETE' }).then(r => r.arrayBuffer()),
  )

export default {
  id: '12',
  title: "a code cell's output flood (bash)",
  async run(): Promise<RowResult[]> {
    const bytes = benchConfig.bytes
    const command = floodCommand(bytes)
    const d = await startExecd()
    try {
      await requireCommands(d)
      const context = await createContext(d, 'bash')
      const floods: Flood[] = []
      const samples = await interleave(
        [
          {
            name: 'cell',
            once: async () => {
              if (floods.some(f => f.guarded)) return NaN
              const flood = await floodThroughCell(d, context, command, bytes)
              floods.push(flood)
              return flood.rate
            },
          },
          { name: 'pipe', once: () => pipeRate(command, bytes) },
        ],
        { reps: reps(3, 2), budgetMs: 120_000, minReps: 2 },
      )
      const ours = summarize(samples.cell.filter(Number.isFinite))
      const base = summarize(samples.pipe ?? [])
      const done = floods.filter(f => f.cpuMsPerMiB !== undefined)
      const cpuNote = done.length
        ? `execd's CPU ${summarize(done.map(f => f.cpuMsPerMiB!)).median.toFixed(2)} ms per MiB ` +
          "(the chunks' JSON made once, copied into the execution's journal and framed from there)"
        : undefined
      return [
        {
          row: '12a',
          what: `a bash cell's stdout throughput, ${(bytes / MiB).toFixed(0)} MiB via SSE`,
          ours: figure(ours, 'MiB/s'),
          baselineName: 'same command, plain pipe (pipe2)',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(ours.median, base.median),
          note: ours.n === 0 ? GUARD_NOTE : cpuNote,
        },
        peakRow('12b', "execd peak RSS during 12a's floods", floods),
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
