/**
 * Some rows of `make bench` for two or more builds, in rounds that take turns: each round runs
 * bench/index.ts once per build (`EXECD_BIN`), in the same order, and reads what it wrote to
 * bench/results/last.json. A row's figure moves with the shared machine's minute (stop 48's
 * quiet run had every side of row 1, the floors too, ~1.5× slower than the stop before), so a
 * build is judged against another measured in the rounds beside it, not against an earlier run.
 * Not run by `make bench`.
 *
 *   BENCH_ROWS=1 bun run bench/rows-ab.ts <execd> <execd> [more builds…]
 *   BENCH_AB_ROUNDS=3         rounds (each runs every build once)
 *   BENCH_AB_SHOW=1a,1d,1h    the rows printed (default: every row the runs gave)
 *   BENCH_AB_NOTES=1          each round's notes under the table (CPU per MiB, peak RSS)
 *
 * BENCH_ROWS is required: a run of every row would replace bench/README.md's last run.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RowResult } from './lib/report'

const builds = process.argv.slice(2)
const rounds = Math.max(1, Number(process.env.BENCH_AB_ROUNDS ?? 3) || 3)
const show = process.env.BENCH_AB_SHOW ? new Set(process.env.BENCH_AB_SHOW.split(',')) : undefined
if (!process.env.BENCH_ROWS || builds.length < 2) {
  console.error('usage: BENCH_ROWS=1 bun run bench/rows-ab.ts <execd> <execd> [more builds…]')
  process.exit(2)
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
/** Per build, per row: one result per round. */
const results = builds.map(() => new Map<string, RowResult[]>())

for (let round = 1; round <= rounds; round++) {
  for (const [i, bin] of builds.entries()) {
    console.error(`round ${round}/${rounds}: ${bin} (load ${load()})`)
    const run = Bun.spawn([process.execPath, 'run', join(import.meta.dir, 'index.ts')], {
      env: { ...process.env, EXECD_BIN: bin, BUN_CONFIG_MAX_HTTP_REQUESTS: '1024' },
      stdout: 'ignore',
      stderr: 'inherit',
    })
    // A row that failed is still in last.json (its error says so): the exit status is not the run's end.
    await run.exited
    const { rows } = JSON.parse(readFileSync(join(import.meta.dir, 'results', 'last.json'), 'utf8')) as {
      rows: RowResult[]
    }
    for (const row of rows) {
      if (show && !show.has(row.row)) continue
      const list = results[i]!.get(row.row) ?? []
      list.push(row)
      results[i]!.set(row.row, list)
    }
  }
}

const figure = (r: RowResult): string => {
  if (r.error || r.skipped) return r.error ? 'error' : 'skipped'
  const p99 = r.ours?.p99 === undefined ? '' : ` (p99 ${r.ours.p99.toPrecision(3)})`
  const ours = r.ours ? `${r.ours.median.toPrecision(3)} ${r.ours.unit}${p99}` : ''
  const ratio = r.ratio === undefined ? '' : ` ${r.ratio.toPrecision(3)}${r.ratioLabel ?? ''}`
  return `${ours}${ratio} @${r.load ?? '?'}`
}

console.log(`| row | ${builds.join(' | ')} |`)
console.log(`|---|${builds.map(() => '---|').join('')}`)
for (const row of results[0]!.keys())
  console.log(`| ${row} | ${results.map(m => (m.get(row) ?? []).map(figure).join('; ')).join(' | ')} |`)
// The notes too (a row's CPU per MiB, its peak RSS: 4a, 4d, 4f), round by round, under the table.
if (process.env.BENCH_AB_NOTES)
  for (const row of results[0]!.keys())
    for (const [i, m] of results.entries())
      for (const [round, r] of (m.get(row) ?? []).entries())
        if (r.note) console.log(`- ${row}, ${builds[i]}, round ${round + 1}: ${r.note}`)
