/**
 * CPU per warm cell (`x + 1` to execution_complete) on both sides of the channel: execd's
 * threads together (exited ones included), its main thread, and the interpreter's process —
 * in rounds that take turns between two builds, so the machine's load hits both alike. Not
 * run by `make bench`.
 *
 *   bun run bench/cell-cpu.ts [language=javascript] [rounds=12] [cells per round=400]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *   BENCH_CELL_WARMUP=16000             untimed cells first (JIT compiles of the cell path go on to ~14,000)
 *   BENCH_CELL_FRESH=1                  a new cell each time (`x + <n>`), not the same one again
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createContext, runCode } from './lib/code'
import { type Execd, startExecd } from './lib/execd'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const language = process.argv[2] ?? 'javascript'
const rounds = Number(process.argv[3] ?? 12)
const perRound = Number(process.argv[4] ?? 400)
const warmup = Number(process.env.BENCH_CELL_WARMUP ?? 16000)
const fresh = process.env.BENCH_CELL_FRESH === '1'

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
  for (let i = 0; i < warmup; i++) await cell(side)
  return side
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

async function main(): Promise<void> {
  const sides = [await open('execd')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await open('before', before))
  for (let r = 0; r < rounds; r++) for (const s of r % 2 ? [...sides].reverse() : sides) await round(s)
  const keys = ['all', 'main', 'interpreter'] as const
  console.log(
    `${language}, ${rounds} rounds of ${perRound} ${fresh ? 'fresh' : 'repeated'} cells, CPU µs per cell (median)`,
  )
  for (const s of sides) {
    const cols = keys.map(
      k =>
        `${k} ${percentile(
          s.rounds.map(x => x[k]),
          0.5,
        ).toFixed(0)}`,
    )
    console.log(`${s.name.padEnd(7)} ${cols.join(', ')}`)
  }
  const [now, old] = sides
  if (!now || !old) return
  // Each round against the other build's round next to it: the load they shared cancels out.
  for (const k of keys) {
    const ratios = now.rounds.map((x, i) => x[k] / (old.rounds[i]?.[k] ?? NaN))
    const lower = ratios.filter(x => x < 1).length
    console.log(
      `${k}: execd / before, paired median ${percentile(ratios, 0.5).toFixed(2)}, lower in ${lower} of ${rounds}`,
    )
  }
}

await runThenClean(main)
