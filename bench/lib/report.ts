/**
 * One result type for every row, the table printer, bench/results/last.json, and the
 * "last run" section of bench/README.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import type { Summary } from './stats'

export interface Figure {
  median: number
  p99?: number
  n?: number
  unit: string
}

export interface RowResult {
  /** '1a', '7b', ... */
  row: string
  what: string
  ours?: Figure
  baselineName?: string
  baseline?: Figure
  /** In the direction the target is stated (speedup, time ratio or rate ratio). */
  ratio?: number
  /** How to read the ratio: '× faster', '× the time', '× the rate'. */
  ratioLabel?: string
  target?: string
  /** null: informational row, no target. */
  pass?: boolean | null
  skipped?: string
  error?: string
  note?: string
  /** 1-minute load average when the row finished: how busy the shared machine was. */
  load?: number
}

export const figure = (s: Summary, unit: string): Figure => ({ median: s.median, p99: s.p99, n: s.n, unit })

const sig = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  if (Number.isInteger(x)) return String(x)
  const abs = Math.abs(x)
  if (abs >= 100) return x.toFixed(0)
  if (abs >= 10) return x.toFixed(1)
  if (abs >= 1) return x.toFixed(2)
  return x.toPrecision(2)
}

export function formatFigure(f: Figure | undefined): string {
  if (!f) return '—'
  const p99 = f.p99 !== undefined && f.n !== undefined && f.n > 1 ? ` (p99 ${sig(f.p99)})` : ''
  return `${sig(f.median)} ${f.unit}${p99}`
}

function verdict(r: RowResult): string {
  if (r.skipped) return `skipped: ${r.skipped}`
  if (r.error) return `error: ${r.error}`
  if (r.pass === true) return 'pass'
  if (r.pass === false) return '**MISS**'
  return '—'
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function renderTable(rows: readonly RowResult[]): string {
  const lines = ['| row | what | ours | baseline | ratio | target | result |', '|---|---|---|---|---|---|---|']
  for (const r of rows) {
    const base = r.baseline ? `${r.baselineName ?? ''}: ${formatFigure(r.baseline)}` : (r.baselineName ?? '—')
    const ratio = r.ratio !== undefined && Number.isFinite(r.ratio) ? `${sig(r.ratio)}${r.ratioLabel ?? '×'}` : '—'
    lines.push(
      `| ${[r.row, r.what, formatFigure(r.ours), base, ratio, r.target ?? '—', verdict(r)].map(cell).join(' | ')} |`,
    )
  }
  const notes = rows.filter(r => r.note).map(r => `- ${r.row}: ${r.note}`)
  return [...lines, ...(notes.length ? ['', ...notes] : [])].join('\n')
}

export interface RunInfo {
  startedAt: string
  durationS: number
  commit: string
  cpus: number
  loadavg: number[]
  config: Record<string, unknown>
}

export function runInfo(startedAt: Date, config: Record<string, unknown>): RunInfo {
  const git = Bun.spawnSync(['git', 'rev-parse', '--short', 'HEAD'], { cwd: import.meta.dir })
  return {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    commit: git.success ? git.stdout.toString().trim() : 'unknown',
    cpus: cpus().length,
    loadavg: loadavg().map(x => Math.round(x * 100) / 100),
    config,
  }
}

const BENCH_DIR = join(import.meta.dir, '..')
const START = '<!-- last-run:start -->'
const END = '<!-- last-run:end -->'

/**
 * Writes bench/results/last.json and, for a run of every row, replaces the last-run section of
 * bench/README.md (a partial run must not pass for the documented one).
 */
export function writeResults(rows: readonly RowResult[], info: RunInfo, updateReadme: boolean): string {
  const dir = join(BENCH_DIR, 'results')
  mkdirSync(dir, { recursive: true })
  const jsonPath = join(dir, 'last.json')
  writeFileSync(jsonPath, JSON.stringify({ ...info, rows }, null, 2) + '\n')
  const readme = join(BENCH_DIR, 'README.md')
  if (updateReadme && existsSync(readme)) {
    const text = readFileSync(readme, 'utf8')
    const a = text.indexOf(START)
    const b = text.indexOf(END)
    if (a >= 0 && b > a) {
      const loads = rows.map(r => r.load).filter((x): x is number => x !== undefined)
      const during = loads.length ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` : '?'
      const header =
        `Run ${info.startedAt} at commit \`${info.commit}\`, ${info.cpus} CPUs shared with other tenants ` +
        `(1-minute load average ${during} across the rows), ${info.durationS} s in all.`
      const section = `${START}\n${header}\n\n${renderTable(rows)}\n${END}`
      writeFileSync(readme, text.slice(0, a) + section + text.slice(b + END.length))
    }
  }
  return jsonPath
}
