/**
 * CPU per warm cell (`x + 1` to execution_complete) on both sides of the channel: execd's
 * threads together (exited ones included), its main thread, and the interpreter's process —
 * in rounds that take turns between two builds, so the machine's load hits both alike. Not
 * run by `make bench`.
 *
 * With two builds the run starts several pairs of daemons one after the other, each build
 * started first in every other pair, their warm-up cells taken in turns. At load one daemon of
 * a pair read 1.2–2× the other's CPU per cell, its interpreter too, whichever build it was and
 * sometimes whichever was started first: a bias of the daemon (its JIT's luck under load, its
 * place), steady for its life, that alternating rounds cannot cancel. The pairs' paired ratios
 * are averaged geometrically; the spread between pairs says how far the mean can be trusted
 * (two copies of one build, 4 pairs at load 7–9: pairs 0.57–1.62, mean 0.85 — more pairs, or
 * a quieter machine, for a change smaller than that).
 *
 *   bun run bench/cell-cpu.ts [language=javascript] [rounds=12] [cells per round=400]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *                                       (its rounds shared between the pairs)
 *   BENCH_CELL_PAIRS=4                  pairs of daemons, started in alternating order
 *   BENCH_CELL_WARMUP=16000             untimed cells first (JIT compiles of the cell path go on to ~14,000)
 *   BENCH_CELL_FRESH=1                  a new cell each time (`x + <n>`), not the same one again
 */
import { chmodSync, copyFileSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createContext, runCode } from './lib/code'
import { EXECD_BIN, type Execd, startExecd } from './lib/execd'
import { makeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const language = process.argv[2] ?? 'javascript'
const rounds = Number(process.argv[3] ?? 12)
const perRound = Number(process.argv[4] ?? 400)
const warmup = Number(process.env.BENCH_CELL_WARMUP ?? 16000)
const fresh = process.env.BENCH_CELL_FRESH === '1'
/** At least one round each. */
const pairs = Math.max(1, Math.min(rounds, 64, Number(process.env.BENCH_CELL_PAIRS ?? 4) || 4))

/** CPU µs per cell of one round. */
interface Round {
  all: number
  main: number
  interpreter: number
}

interface Side {
  name: string
  d: Execd
  id: string
  interpreter: number
  rounds: Round[]
}

const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap(tid =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  )

let serial = 0
const cell = (s: Side) => runCode(s.d, s.id, language, fresh ? `x + ${++serial}` : 'x + 1')

async function open(name: string, bin?: string): Promise<Side> {
  const d = await startExecd({ bin })
  const before = new Set(childrenOf(d.pid))
  const id = await createContext(d, language)
  const interpreter = childrenOf(d.pid).find(pid => !before.has(pid))
  if (interpreter === undefined) throw new Error(`${name}: no new child after creating the ${language} context`)
  const side = { name, d, id, interpreter, rounds: [] }
  await runCode(d, id, language, language === 'python' ? 'x = 1' : 'let x = 1')
  return side
}

/** Untimed cells on every side, a cell each in turn: none sits idle while another warms up. */
async function warm(sides: Side[]): Promise<void> {
  for (let i = 0; i < warmup; i++) for (const s of sides) await cell(s)
}

async function round(s: Side): Promise<void> {
  const execd0 = threadCpuMs(s.d.pid)
  const child0 = threadCpuMs(s.interpreter).all
  for (let i = 0; i < perRound; i++) await cell(s)
  const execd1 = threadCpuMs(s.d.pid)
  const child1 = threadCpuMs(s.interpreter).all
  const us = (a: number, b: number) => ((b - a) * 1000) / perRound
  s.rounds.push({
    all: us(execd0.all, execd1.all),
    main: us(execd0.main, execd1.main),
    interpreter: us(child0, child1),
  })
}

const keys = ['all', 'main', 'interpreter'] as const

/** `count` rounds over `sides`, taking turns: each round's order the last one's reversed. */
async function takeTurns(sides: Side[], count: number): Promise<void> {
  for (let r = 0; r < count; r++) for (const s of r % 2 ? [...sides].reverse() : sides) await round(s)
}

/** The median of each round's ratio to the other build's round next to it: the load they shared cancels out. */
const pairedMedian = (now: Side, old: Side, k: (typeof keys)[number]) =>
  percentile(
    now.rounds.map((x, i) => x[k] / (old.rounds[i]?.[k] ?? NaN)),
    0.5,
  )

function printMedians(title: string, sides: Side[]): void {
  console.log(title)
  for (const s of sides) {
    const cols = keys.map(
      k =>
        `${k} ${percentile(
          s.rounds.map(x => x[k]),
          0.5,
        ).toFixed(0)}`,
    )
    console.log(`  ${s.name.padEnd(7)} ${cols.join(', ')}`)
  }
}

/** One pair of a comparison: both builds started in `order`, their rounds taken in turns, then stopped. */
async function pair(order: [string, string | undefined][], rounds: number): Promise<{ now: Side; old: Side }> {
  const sides: Side[] = []
  for (const [name, bin] of order) sides.push(await open(name, bin))
  try {
    await warm(sides)
    await takeTurns(sides, rounds)
  } finally {
    for (const s of sides) await s.d.stop()
  }
  printMedians(`started ${order.map(([name]) => name).join(' then ')}:`, sides)
  const now = sides.find(s => s.name === 'execd')!
  const old = sides.find(s => s.name === 'before')!
  for (const k of keys) {
    const ratios = now.rounds.map((x, i) => x[k] / (old.rounds[i]?.[k] ?? NaN))
    const lower = ratios.filter(x => x < 1).length
    console.log(
      `  ${k}: execd / before, paired median ${pairedMedian(now, old, k).toFixed(2)}, lower in ${lower} of ${rounds}`,
    )
  }
  return { now, old }
}

const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length)

async function main(): Promise<void> {
  const title = `${language}, ${rounds} rounds of ${perRound} ${fresh ? 'fresh' : 'repeated'} cells, CPU µs per cell (median)`
  const before = process.env.BENCH_EXECD_BEFORE
  if (!before) {
    const side = await open('execd')
    await warm([side])
    await takeTurns([side], rounds)
    printMedians(title, [side])
    return
  }
  console.log(`${title}, ${pairs} pairs of daemons`)
  // Both run from copies made alike, side by side: against a copy of itself kept elsewhere,
  // dist/execd read lower in 6 of 7 pairs over two runs (0.5–0.8×, cause not found), against
  // itself 0.95–1.00; from two fresh copies neither was favoured.
  const dir = makeTempDir('cell-cpu-')
  const copies = [EXECD_BIN, before].map((bin, i) => {
    const copy = join(dir, ['execd', 'before'][i]!)
    copyFileSync(bin, copy)
    chmodSync(copy, 0o755)
    return copy
  })
  const done: { now: Side; old: Side }[] = []
  for (let p = 0; p < pairs; p++) {
    const order: [string, string | undefined][] = [
      ['execd', copies[0]],
      ['before', copies[1]],
    ]
    if (p % 2) order.reverse()
    done.push(await pair(order, Math.floor((rounds * (p + 1)) / pairs) - Math.floor((rounds * p) / pairs)))
  }
  for (const k of keys) {
    const ratios = done.map(({ now, old }) => pairedMedian(now, old, k))
    const [first = NaN, second = NaN] = [0, 1].map(odd => geomean(ratios.filter((_, p) => p % 2 === odd)))
    const place = pairs > 1 ? `; started first over started second ${Math.sqrt(first / second).toFixed(2)}` : ''
    console.log(
      `${k}: execd / before ${geomean(ratios).toFixed(2)} (geometric mean of the pairs, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})${place}`,
    )
  }
}

await runThenClean(main)
