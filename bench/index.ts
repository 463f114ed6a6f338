/**
 * `make bench`: runs every row against its baselines (each started here, on loopback, and
 * stopped after), prints one table of ratios, writes bench/results/last.json and the
 * last-run section of bench/README.md. Never part of `make test`.
 */
import { loadavg } from 'node:os'
import { benchConfig } from './lib/config'
import { Skip } from './lib/execd'
import { cleanupAll } from './lib/procs'
import { renderTable, runInfo, type RowResult, writeResults } from './lib/report'
import type { BenchRow } from './lib/row'
import codeRoundTrip from './rows/r1-code-roundtrip'
import contextStart from './rows/r2-context-start'
import commandRoundTrip from './rows/r3-command-roundtrip'
import outputThroughput from './rows/r4-output-throughput'
import pythonFlood from './rows/r4f-python-flood'
import fileTransfer from './rows/r5-file-transfer'
import concurrency from './rows/r6-concurrency'
import startup from './rows/r7-startup'
import metricsLatency from './rows/r8-metrics'
import goRuntime from './rows/r9-go'
import isolatedSessions from './rows/r10-isolated'
import pausedCell from './rows/r11-paused-cell'
import cellFlood from './rows/r12-cell-flood'
import sqlCell from './rows/r13-sql-cell'

// Row 6 needs its cheap measurements of row 3 first, so order matters only there.
const ROWS: BenchRow[] = [
  startup,
  metricsLatency,
  commandRoundTrip,
  codeRoundTrip,
  contextStart,
  outputThroughput,
  pythonFlood,
  fileTransfer,
  concurrency,
  goRuntime,
  isolatedSessions,
  pausedCell,
  cellFlood,
  sqlCell,
]

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

async function runRow(row: BenchRow): Promise<RowResult[]> {
  const t0 = performance.now()
  log(`row ${row.id}: ${row.title} …`)
  try {
    const results = await row.run()
    const [oneMinute = 0] = loadavg()
    const load = Math.round(oneMinute * 10) / 10
    log(`row ${row.id}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s (load average ${load})`)
    return results.map(r => ({ ...r, load }))
  } catch (e) {
    if (e instanceof Skip) {
      log(`row ${row.id}: skipped (${e.message})`)
      return [{ row: row.id, what: row.title, skipped: e.message }]
    }
    const message = e instanceof Error ? e.message : String(e)
    log(`row ${row.id}: failed: ${e instanceof Error ? e.stack : message}`)
    return [{ row: row.id, what: row.title, error: message.split('\n')[0]?.slice(0, 200) }]
  } finally {
    await cleanupAll()
  }
}

async function main(): Promise<number> {
  const startedAt = new Date()
  const selected = ROWS.filter(r => benchConfig.rows.length === 0 || benchConfig.rows.includes(r.id))
  const results: RowResult[] = []
  for (const row of selected) results.push(...(await runRow(row)))
  results.sort((a, b) => a.row.localeCompare(b.row, 'en', { numeric: true }))
  const table = renderTable(results)
  const path = writeResults(results, runInfo(startedAt, { ...benchConfig }), selected.length === ROWS.length)
  process.stdout.write(`\n${table}\n\nwritten: ${path}\n`)
  return results.some(r => r.error) ? 1 : 0
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping everything started`)
    void cleanupAll().finally(() => process.exit(130))
  })
}

process.exitCode = await main().catch(async e => {
  log(`crashed: ${e instanceof Error ? e.stack : e}`)
  await cleanupAll()
  return 2
})
