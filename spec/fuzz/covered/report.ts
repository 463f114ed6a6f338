/**
 * Adds up the lcov.info files of a coverage run (spec/fuzz/covered/execd-covered writes one per
 * daemon) and prints, for core/ and plugins/, each module's lines reached; a module never loaded
 * counts as none reached. With a second directory: before → after, module by module.
 *   bun run spec/fuzz/covered/report.ts <dir> [<dir after>] [--all]
 * Bun's lcov has line counts (DA) only: no branches, so a branch is read off its lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const REPO = join(import.meta.dir, '..', '..', '..')
const TREES = ['core', 'plugins']

/** Every lcov.info under `dir`. */
function lcovFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...lcovFiles(p))
    else if (name === 'lcov.info') out.push(p)
  }
  return out
}

/** Module (repo-relative) → line → hits, summed over every file. */
export function readRun(dir: string): Map<string, Map<number, number>> {
  const run = new Map<string, Map<number, number>>()
  for (const file of lcovFiles(dir)) {
    let lines: Map<number, number> | undefined
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.startsWith('SF:')) {
        // Paths are relative to the daemon's cwd: the module is what follows the repository.
        const sf = line.slice(3)
        const at = TREES.map(t => sf.lastIndexOf(`/${t}/`)).find(i => i >= 0)
        const mod = sf.startsWith('core/') || sf.startsWith('plugins/') ? sf : at !== undefined ? sf.slice(at + 1) : sf
        lines = run.get(mod) ?? new Map()
        run.set(mod, lines)
      } else if (line.startsWith('DA:') && lines) {
        const [n = 0, hits = 0] = line.slice(3).split(',').map(Number)
        lines.set(n, (lines.get(n) ?? 0) + hits)
      }
    }
  }
  return run
}

/** The modules execd is made of: what a fuzz could reach (tests and test helpers left out). */
function modules(): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.ts$/.test(name) && !/\.test\.ts$|\.d\.ts$|^test-/.test(name)) out.push(relative(REPO, p))
    }
  }
  for (const t of TREES) walk(join(REPO, t))
  return out.sort()
}

interface Reach {
  hit: number
  total: number
  /** Unreached line numbers, as ranges. */
  missed: string
}

function reach(run: Map<string, Map<number, number>>, mod: string): Reach | undefined {
  const lines = run.get(mod)
  if (!lines) return undefined
  const miss = [...lines]
    .filter(([, h]) => h === 0)
    .map(([n]) => n)
    .sort((a, b) => a - b)
  const ranges: string[] = []
  for (let i = 0; i < miss.length;) {
    let j = i
    while (j + 1 < miss.length && miss[j + 1] === miss[j]! + 1) j++
    ranges.push(i === j ? `${miss[i]}` : `${miss[i]}-${miss[j]}`)
    i = j + 1
  }
  return { hit: lines.size - miss.length, total: lines.size, missed: ranges.join(',') }
}

/** Lines of a module that never loaded: its non-blank, non-comment lines (a rough count). */
function sourceLines(mod: string): number {
  return readFileSync(join(REPO, mod), 'utf8')
    .split('\n')
    .filter(l => l.trim() && !/^\s*(\/\/|\*|\/\*\*?)/.test(l)).length
}

const args = process.argv.slice(2).filter(a => !a.startsWith('--'))
const all = process.argv.includes('--all')
const [before, after] = args.map(readRun)
if (!before) {
  console.error('usage: report.ts <coverage dir> [<coverage dir after>] [--all]')
  process.exit(2)
}
const pct = (r: Reach | undefined) => (r ? `${((100 * r.hit) / Math.max(1, r.total)).toFixed(0)}%` : 'never loaded')
let [hit, total, hitAfter, totalAfter] = [0, 0, 0, 0]
const rows: [number, string][] = []
for (const mod of modules()) {
  const a = reach(before, mod)
  const b = after && reach(after, mod)
  const size = a?.total ?? b?.total ?? sourceLines(mod)
  hit += a?.hit ?? 0
  total += size
  hitAfter += b?.hit ?? 0
  totalAfter += b?.total ?? size
  const gap = size - ((after ? b?.hit : a?.hit) ?? 0)
  const line = after
    ? `${mod}: ${pct(a)} → ${pct(b)} (${b?.hit ?? 0}/${b?.total ?? size})`
    : `${mod}: ${pct(a)} (${a?.hit ?? 0}/${size})${all && a?.missed ? ` missed ${a.missed}` : ''}`
  rows.push([gap, line])
}
for (const [, line] of rows.sort((x, y) => y[0] - x[0])) console.log(line)
console.log(`core/ and plugins/: ${hit}/${total} lines reached (${((100 * hit) / total).toFixed(1)}%)`)
if (after) console.log(`after: ${hitAfter}/${totalAfter} (${((100 * hitAfter) / totalAfter).toFixed(1)}%)`)
