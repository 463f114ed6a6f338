/** Row 3: command round trip, `true` through `POST /command` to its terminal event, vs spawning `bash -c true` directly. */
import { reps } from '../lib/config'
import { commandRoundTrip, requireCommands } from '../lib/command'
import { startExecd } from '../lib/execd'
import { interleave, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'

export default {
  id: '3',
  title: 'command round trip (true)',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    try {
      await requireCommands(d)
      const samples = await interleave(
        [
          { name: 'execd', once: () => commandRoundTrip(d) },
          { name: 'spawn', once: () => timed(() => Bun.spawn(['bash', '-c', 'true'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited) },
        ],
        { reps: reps(300, 30), warmup: 10, budgetMs: 40_000, minReps: 30 },
      )
      const ours = summarize(samples.execd)
      const base = summarize(samples.spawn)
      return [
        {
          row: '3',
          what: 'command round trip (true)',
          ours: figure(ours, 'ms'),
          baselineName: 'Bun.spawn bash -c true',
          baseline: figure(base, 'ms'),
          ...timeRatio(ours.median, base.median, 1.5),
        },
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
