/**
 * Row 4: output throughput — a command writing BENCH_BYTES (1 GiB) of 1 KiB lines to stdout,
 * consumed through `POST /command` SSE, vs the same command read through a plain pipe; and
 * execd's peak RSS meanwhile.
 */
import { requireCommands } from '../lib/command'
import { benchConfig, reps } from '../lib/config'
import { startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { spawnTracked } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { PeakRss } from '../lib/rss'
import { drainCounting } from '../lib/sse'
import { summarize } from '../lib/stats'

const MiB = 1024 * 1024
const RSS_TARGET_MIB = 150

/** 1 KiB lines (1023 zeros and a newline): line splitting as real output needs it. */
export const floodCommand = (bytes: number) => `yes "$(printf '%01023d' 0)" | head -c ${bytes}`

export default {
  id: '4',
  title: 'output throughput (command stdout)',
  async run(): Promise<RowResult[]> {
    const bytes = benchConfig.bytes
    const command = floodCommand(bytes)
    const d = await startExecd()
    try {
      await requireCommands(d)
      const peaks: number[] = []
      let idle = 0
      const samples = await interleave(
        [
          {
            name: 'execd',
            once: async () => {
              const peak = new PeakRss(d.pid).start()
              idle = peak.before
              const t0 = performance.now()
              const res = await d.post('/command', { command })
              if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
              const { bytes: wire, tail } = await drainCounting(res)
              const secs = (performance.now() - t0) / 1000
              peaks.push(peak.stop())
              if (!tail.includes('"type":"execution_complete"')) throw new Error(`flood did not complete: …${tail.slice(-300)}`)
              if (wire < bytes) throw new Error(`flood: ${wire} bytes on the wire for ${bytes} of output`)
              return bytes / MiB / secs
            },
          },
          {
            name: 'pipe',
            once: async () => {
              const t0 = performance.now()
              const proc = spawnTracked(['bash', '-c', command], { stdout: 'pipe' })
              const { bytes: got } = await drainCounting(new Response(proc.stdout as ReadableStream<Uint8Array>))
              await proc.exited
              if (got !== bytes) throw new Error(`pipe: read ${got} of ${bytes} bytes`)
              return bytes / MiB / ((performance.now() - t0) / 1000)
            },
          },
        ],
        { reps: reps(3, 2), budgetMs: 150_000, minReps: 2 },
      )
      const ours = summarize(samples.execd)
      const base = summarize(samples.pipe)
      const peak = Math.max(...peaks)
      const size = `${(bytes / MiB).toFixed(0)} MiB`
      return [
        {
          row: '4a',
          what: `stdout throughput, ${size} via SSE`,
          ours: figure(ours, 'MiB/s'),
          baselineName: 'same command, plain pipe',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(ours.median, base.median, 0.25),
        },
        {
          row: '4b',
          what: 'execd peak RSS during the flood',
          ours: { median: peak, unit: 'MiB' },
          baselineName: 'execd before',
          baseline: { median: idle, unit: 'MiB' },
          ratio: peak / idle,
          ratioLabel: '× the memory',
          target: `≤ ${RSS_TARGET_MIB} MiB`,
          pass: peak <= RSS_TARGET_MIB,
        },
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
