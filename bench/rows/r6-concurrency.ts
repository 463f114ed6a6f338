/**
 * Row 6: concurrency — BENCH_COMMAND_CLIENTS (200) clients each running `true` through
 * `POST /command` back to back, plus BENCH_WATCH_CLIENTS (50) `/metrics/watch` streams, for
 * BENCH_LOAD_SECONDS (20 s). Errors must be 0; the round trip under load is compared with a
 * single client's on the same daemon just before.
 */
import { commandRoundTrip, requireCommands } from '../lib/command'
import { benchConfig, reps } from '../lib/config'
import { clientCpuSeconds, cpuSeconds } from '../lib/usage'
import { type Execd, startExecd } from '../lib/execd'
import type { RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { PeakRss } from '../lib/rss'
import { summarize } from '../lib/stats'

/** Reads a watch stream until aborted; counts its events, records how it failed if it did. */
async function watcher(d: Execd, signal: AbortSignal, errors: string[]): Promise<number> {
  let events = 0
  try {
    const res = await d.fetch('/metrics/watch', { signal })
    if (res.status !== 200) throw new Error(`watch: ${res.status}`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('watch stream ended under load')
      events += decoder.decode(value, { stream: true }).split('data:').length - 1
    }
  } catch (e) {
    if (!signal.aborted) errors.push((e as Error).message)
  }
  return events
}

async function commander(d: Execd, until: number, latencies: number[], errors: string[]): Promise<void> {
  while (performance.now() < until) {
    try {
      latencies.push(await commandRoundTrip(d))
    } catch (e) {
      errors.push((e as Error).message)
      await Bun.sleep(10)
    }
  }
}

export default {
  id: '6',
  title: 'concurrency (commands + metrics watchers)',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    try {
      await requireCommands(d)
      const single: number[] = []
      for (let i = 0; i < 10; i++) await commandRoundTrip(d)
      for (let i = 0; i < reps(200, 30); i++) single.push(await commandRoundTrip(d))

      const { commandClients, watchClients, concurrencySeconds } = benchConfig
      const errors: string[] = []
      const latencies: number[] = []
      const abort = new AbortController()
      const peak = new PeakRss(d.pid).start()
      const cpu0 = cpuSeconds(d.pid)
      const client0 = clientCpuSeconds()
      const watchers = Array.from({ length: watchClients }, () => watcher(d, abort.signal, errors))
      const until = performance.now() + concurrencySeconds * 1000
      await Promise.all(Array.from({ length: commandClients }, () => commander(d, until, latencies, errors)))
      abort.abort()
      const watchEvents = await Promise.all(watchers)
      const peakRss = peak.stop()
      const cpu1 = cpuSeconds(d.pid)
      const share = (s: number) => `${((100 * s) / concurrencySeconds).toFixed(0)}%`
      const cpuNote =
        `CPU over the load: execd ${share(cpu1.own - cpu0.own)}, its shells ${share(cpu1.children - cpu0.children)}, ` +
        `bench client ${share(clientCpuSeconds() - client0)} (of 200% on 2 cores)`

      const one = summarize(single)
      const loaded = summarize(latencies)
      const minWatch = watchEvents.length ? Math.min(...watchEvents) : 0
      const kinds = [...new Set(errors.map(e => e.slice(0, 80)))].slice(0, 3).join('; ')
      const load = `${commandClients} command clients + ${watchClients} watchers, ${concurrencySeconds} s`
      return [
        {
          row: '6a',
          what: `errors under load (${load})`,
          ours: { median: errors.length, unit: 'errors' },
          target: '0 errors',
          pass: errors.length === 0,
          note:
            `${latencies.length} command round trips (${(latencies.length / concurrencySeconds).toFixed(0)}/s); ` +
            `every watcher got ≥ ${minWatch} events; execd peak RSS ${peakRss.toFixed(0)} MiB; ${cpuNote}` +
            (kinds ? `; errors: ${kinds}` : ''),
        },
        {
          row: '6b',
          what: 'command round trip p50 under load',
          ours: { median: loaded.median, unit: 'ms', n: loaded.n },
          baselineName: 'single client',
          baseline: { median: one.median, unit: 'ms', n: one.n },
          ...timeRatio(loaded.median, one.median),
          pass: null,
        },
        {
          row: '6c',
          what: 'command round trip p99 under load',
          ours: { median: loaded.p99, unit: 'ms', n: loaded.n },
          baselineName: 'single client',
          baseline: { median: one.p99, unit: 'ms', n: one.n },
          ...timeRatio(loaded.p99, one.p99),
          pass: null,
        },
      ]
    } finally {
      await d.stop()
    }
  },
} satisfies BenchRow
