/**
 * Row 12: a code cell's output flood — row 4a's command (BENCH_BYTES of 1 KiB lines) run as a
 * bash cell (`POST /code` in a bash context, one context for every flood), read through its SSE
 * stream, against the same command read from a plain pipe; and execd's peak RSS meanwhile, judged
 * as a command's (4b) and a session's (4e) are. A cell's output goes through its queue and its
 * execution's journal (plugins/bash/context.ts, core/journal.ts), not a command's run.
 */
import { benchConfig, reps } from '../lib/config'
import { requireCommands } from '../lib/command'
import { type Execd, startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { PeakRss, RSS_GUARD_MIB } from '../lib/rss'
import { drainCounting } from '../lib/sse'
import { summarize } from '../lib/stats'
import { cpuSeconds } from '../lib/usage'
import { floodCommand, pipeRate } from './r4-output-throughput'

const MiB = 1024 * 1024
const RSS_TARGET_MIB = 100 // issue 16, as rows 4b and 4e

interface CellFlood {
  rate: number
  peak: number
  before: number
  guarded: boolean
  cpuMsPerMiB?: number
}

async function floodThroughCell(d: Execd, context: string, code: string, bytes: number): Promise<CellFlood> {
  const abort = new AbortController()
  const peak = new PeakRss(d.pid, () => abort.abort()).start()
  const cpu0 = cpuSeconds(d.pid).own
  const t0 = performance.now()
  try {
    const res = await d.fetch('/code', {
      method: 'POST',
      body: JSON.stringify({ code, context: { id: context, language: 'bash' } }),
      headers: { 'content-type': 'application/json' },
      signal: abort.signal,
    })
    if (res.status !== 200) throw new Error(`POST /code: ${res.status} ${await res.text()}`)
    const { bytes: wire, tail } = await drainCounting(res)
    const secs = (performance.now() - t0) / 1000
    if (!tail.includes('"type":"execution_complete"')) throw new Error(`flood did not complete: …${tail.slice(-300)}`)
    if (wire < bytes) throw new Error(`flood: ${wire} bytes on the wire for ${bytes} of output`)
    const cpuMsPerMiB = ((cpuSeconds(d.pid).own - cpu0) * 1000) / (bytes / MiB)
    return { rate: bytes / MiB / secs, peak: peak.stop(), before: peak.before, guarded: false, cpuMsPerMiB }
  } catch (e) {
    const max = peak.stop()
    if (!peak.guarded) throw e
    // The cell is still writing into the daemon: its context goes, and the cell with it.
    await d.fetch(`/code/contexts/${context}`, { method: 'DELETE' }).then(
      r => r.arrayBuffer(),
      () => {},
    )
    return { rate: NaN, peak: max, before: peak.before, guarded: true }
  }
}

export default {
  id: '12',
  title: "a code cell's output flood (bash)",
  async run(): Promise<RowResult[]> {
    const bytes = benchConfig.bytes
    const command = floodCommand(bytes)
    const d = await startExecd()
    try {
      await requireCommands(d)
      const made = await d.post('/code/context', { language: 'bash' })
      if (made.status !== 200) throw new Error(`POST /code/context: ${made.status} ${await made.text()}`)
      const context = ((await made.json()) as { id: string }).id
      const floods: CellFlood[] = []
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
      const guarded = floods.some(f => f.guarded)
      const peak = Math.max(...floods.map(f => f.peak))
      const guardNote = `stopped when execd's RSS passed ${RSS_GUARD_MIB} MiB (BENCH_RSS_GUARD_MIB)`
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
          note: ours.n === 0 ? guardNote : cpuNote,
        },
        {
          row: '12b',
          what: "execd peak RSS during 12a's floods",
          ours: { median: peak, unit: 'MiB' },
          baselineName: 'execd before the first flood',
          baseline: { median: floods[0]?.before ?? NaN, unit: 'MiB' },
          ratio: peak / (floods[0]?.before ?? NaN),
          ratioLabel: '× the memory',
          target: `≤ ${RSS_TARGET_MIB} MiB`,
          pass: peak <= RSS_TARGET_MIB,
          ...(guarded ? { note: guardNote } : {}),
        },
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
