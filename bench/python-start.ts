/**
 * Row 2b alone, builds taking turns: a python context on a daemon with no spare interpreter
 * (`EXECD_PYTHON_SPARE=0`), `POST /code/context` then `1 + 1` until its result, beside a cold
 * `python3 -c 'print(1 + 1)'` (2c's floor), and the python driver started bare over a
 * socketpair (no execd: python's start plus the driver's imports and setup). Not run by
 * `make bench`.
 *
 *   bun run bench/python-start.ts [rounds=40]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 */
import { createContext, deleteContext, outputOf, runCode } from './lib/code'
import { type Execd, startExecd } from './lib/execd'
import { interleave, timed, type Side } from './lib/measure'
import { runThenClean } from './lib/procs'
import { percentile, summarize } from './lib/stats'

const rounds = Number(process.argv[2] ?? 40)
const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'

async function contextToResult(d: Execd): Promise<number> {
  const t0 = performance.now()
  const id = await createContext(d, 'python')
  const { events, at } = await runCode(d, id, 'python', '1 + 1', e => (outputOf(e) ?? '').trim() !== '')
  await deleteContext(d, id)
  if (!events.some(e => outputOf(e)?.includes('2'))) throw new Error('1 + 1 did not show 2')
  return at - t0
}

const cold = () =>
  timed(async () => {
    const p = Bun.spawn([PYTHON, '-c', 'print(1 + 1)'], { stdout: 'pipe', stderr: 'ignore' })
    const out = await new Response(p.stdout).text()
    await p.exited
    if (out.trim() !== '2') throw new Error(`python3 -c printed ${out}`)
  })

async function main(): Promise<void> {
  const sides: Side[] = []
  const env = { EXECD_PYTHON_SPARE: '0', EXECD_PYTHON: PYTHON }
  const after = await startExecd({ env })
  sides.push({ name: 'execd', once: () => contextToResult(after) })
  const beforeBin = process.env.BENCH_EXECD_BEFORE
  if (beforeBin) {
    const before = await startExecd({ env, bin: beforeBin })
    sides.push({ name: 'before', once: () => contextToResult(before) })
  }
  sides.push({ name: 'cold', once: cold })
  const samples = await interleave(sides, { reps: rounds, warmup: 2 })
  const load = (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
  console.log(`${rounds} rounds, turns taken; load average at the end ${load}`)
  for (const s of sides) {
    const sum = summarize(samples[s.name] ?? [])
    const p25 = percentile(samples[s.name] ?? [], 0.25)
    console.log(
      `${s.name.padEnd(8)} median ${sum.median.toFixed(1)} ms  p25 ${p25.toFixed(1)}  p99 ${sum.p99.toFixed(1)}`,
    )
  }
  if (beforeBin) {
    const a = samples.execd ?? []
    const b = samples.before ?? []
    const lower = a.filter((x, i) => x < (b[i] ?? Infinity)).length
    console.log(`execd below before in ${lower} of ${Math.min(a.length, b.length)} rounds`)
  }
}

await runThenClean(main)
