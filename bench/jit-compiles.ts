/**
 * What a fresh daemon's JIT compiles while it serves its first requests: the daemon runs with
 * `BUN_JSC_reportCompileTimes=1`, the requests go in batches, and each compile JSC reports
 * (on stderr, from its compiler threads) is counted in the batch it arrived in. Prints per
 * batch the compiles by tier and their ms, then the functions compiled most often in the
 * optimising tiers (a function compiled again was jettisoned: an OSR exit or a failed
 * speculation) and those whose compiles took longest. Names need a build without
 * `--minify-identifiers` (see bench/README.md, round 16). Not run by `make bench`.
 *
 *   bun run bench/jit-compiles.ts [python|javascript|command] [requests=2000] [batch=250]
 *   BENCH_EXECD_BIN=/tmp/execd-names   the build to start (default dist/execd)
 *   BENCH_SETTLE_MS=1500               wait after the start before the first request (serve drops
 *                                      its compiled code 1 s after listening: cmd/serve.ts)
 *   BENCH_JIT_LIST_FROM=2001           also list each optimising compile from this request's batch on
 *                                      (what a daemon past row 1's window still compiles)
 */
import { createContext, runCode } from './lib/code'
import { commandRoundTrip } from './lib/command'
import { startExecd } from './lib/execd'
import { type Compile, compileReports } from './lib/jit-report'
import { runThenClean } from './lib/procs'

const kind = process.argv[2] ?? 'python'
const total = Number(process.argv[3] ?? 2000)
const batch = Number(process.argv[4] ?? 250)

await runThenClean(async () => {
  let current: Compile[] = []
  const onStderr = compileReports(c => current.push(c))
  const d = await startExecd({
    bin: process.env.BENCH_EXECD_BIN,
    env: { BUN_JSC_reportCompileTimes: '1' },
    onStderr,
  })
  await Bun.sleep(Number(process.env.BENCH_SETTLE_MS ?? 1500))
  const one =
    kind === 'command'
      ? () => commandRoundTrip(d)
      : await (async () => {
          const id = await createContext(d, kind)
          await runCode(d, id, kind, 'x = 1')
          return () => runCode(d, id, kind, 'x + 1')
        })()
  await Bun.sleep(200)
  const atStart = current
  current = []
  const batches: Compile[][] = []
  for (let done = 0; done < total; done += batch) {
    for (let i = 0; i < batch; i++) await one()
    await Bun.sleep(100) // the compiler threads' last reports of this batch
    batches.push(current)
    current = []
  }
  await d.stop()
  const tiers = ['Baseline', 'DFG', 'FTL']
  const sum = (cs: Compile[], t: string) => cs.filter(c => c.tier === t)
  const row = (label: string, cs: Compile[]) =>
    `${label.padEnd(14)} ${tiers
      .map(
        t =>
          `${t} ${String(sum(cs, t).length).padStart(4)} (${sum(cs, t)
            .reduce((a, c) => a + c.ms, 0)
            .toFixed(1)
            .padStart(6)} ms)`,
      )
      .join('  ')}`
  console.log(row('before the 1st', atStart))
  batches.forEach((cs, i) => console.log(row(`${i * batch + 1}–${(i + 1) * batch}`, cs)))
  const all = batches.flat()
  const byFn = new Map<string, { n: number; ms: number; tiers: string[] }>()
  for (const c of all) {
    if (c.tier === 'Baseline') continue
    const e = byFn.get(c.fn) ?? { n: 0, ms: 0, tiers: [] }
    e.n++
    e.ms += c.ms
    e.tiers.push(c.tier)
    byFn.set(c.fn, e)
  }
  const optimising = all.filter(c => c.tier !== 'Baseline')
  console.log(
    `\n${optimising.length} DFG/FTL compiles of ${byFn.size} functions, ${optimising.reduce((a, c) => a + c.ms, 0).toFixed(1)} ms; ` +
      `compiled again (jettisoned): ${[...byFn.values()].filter(e => e.tiers.filter(t => t === 'DFG').length > 1 || e.tiers.filter(t => t === 'FTL').length > 1).length}`,
  )
  const list = (
    title: string,
    order: (a: [string, { n: number; ms: number }], b: [string, { n: number; ms: number }]) => number,
  ) => {
    console.log(`\n${title}`)
    for (const [fn, e] of [...byFn].sort(order).slice(0, 25))
      console.log(`  ${String(e.n).padStart(3)}× ${e.ms.toFixed(2).padStart(7)} ms  ${fn}  ${e.tiers.join(' ')}`)
  }
  const listFrom = Number(process.env.BENCH_JIT_LIST_FROM ?? 0)
  if (listFrom > 0) {
    console.log(`\noptimising compiles from request ${listFrom} on`)
    batches.forEach((cs, i) => {
      if ((i + 1) * batch < listFrom) return
      for (const c of cs.filter(c => c.tier !== 'Baseline'))
        console.log(
          `  ${`${i * batch + 1}–${(i + 1) * batch}`.padEnd(12)} ${c.tier.padEnd(4)} ${c.ms.toFixed(2).padStart(7)} ms  ${c.fn}`,
        )
    })
  }
  list('compiled most often', (a, b) => b[1].n - a[1].n || b[1].ms - a[1].ms)
  list('longest in compiling', (a, b) => b[1].ms - a[1].ms)
})
