/**
 * Which of the daemon's functions JSC compiles on a warm cell sent after a pause, against the
 * cell sent right after it: code that runs only once a second (the OOM reading before a cell,
 * core/oom.ts) reaches JSC's tiers slowly, and each step of it lands on a paused cell, its
 * compile on a JIT thread beside the interpreter. The daemon runs with
 * `BUN_JSC_reportCompileTimes=1`; each compile is counted in the window it was reported in (the
 * pause, the paused cell, the next cell), and the paused cells' are listed by name (names need a
 * build without `--minify-identifiers`, as bench/jit-compiles.ts says). Not run by `make bench`.
 *
 *   bun run bench/paused-compiles.ts [pauses=30] [warm=1500] [pause ms=1000]
 *   BENCH_EXECD_BIN=/tmp/execd-names   the build to start (default dist/execd)
 *   BENCH_LANGUAGE=javascript          the cell's language (default python)
 *   BENCH_LIST_NEXT=1                  list the next cells' compiles instead of the paused ones'
 */
import { createContext, runCode } from './lib/code'
import { startExecd } from './lib/execd'
import { type Compile, compileReports } from './lib/jit-report'
import { runThenClean } from './lib/procs'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [pauses, warm, pauseMs] = [arg(0, 30), arg(1, 1500), arg(2, 1000)]
const language = process.env.BENCH_LANGUAGE ?? 'python'
// The compiler threads' last reports of a cell come after its answer: a short wait before the next window.
const SETTLE_MS = 20

type Window = 'warm' | 'pause' | 'paused' | 'next'

await runThenClean(async () => {
  let window: Window = 'warm'
  const seen: Record<Window, Compile[]> = { warm: [], pause: [], paused: [], next: [] }
  const d = await startExecd({
    bin: process.env.BENCH_EXECD_BIN,
    env: { BUN_JSC_reportCompileTimes: '1' },
    onStderr: compileReports(c => seen[window].push(c)),
  })
  try {
    const id = await createContext(d, language)
    await runCode(d, id, language, language === 'python' ? 'x = 1' : 'var x = 1')
    const cell = () => runCode(d, id, language, 'x + 1')
    for (let i = 0; i < warm; i++) await cell()
    for (let r = 0; r < pauses; r++) {
      window = 'pause'
      await Bun.sleep(pauseMs)
      window = 'paused'
      await cell()
      await Bun.sleep(SETTLE_MS)
      window = 'next'
      await cell()
      await Bun.sleep(SETTLE_MS)
    }
  } finally {
    await d.stop()
  }
  const tiers = (cs: Compile[]) =>
    ['Baseline', 'DFG', 'FTL'].map(t => `${t} ${cs.filter(c => c.tier === t).length}`).join(', ')
  console.log(`${language}, ${pauses} pauses of ${pauseMs} ms after ${warm} warm cells: compiles reported`)
  for (const w of ['pause', 'paused', 'next'] as const)
    console.log(`  ${w.padEnd(7)} ${seen[w].length} (${tiers(seen[w])})`)
  console.log(`on the ${process.env.BENCH_LIST_NEXT ? 'next' : 'paused'} cells:`)
  for (const c of process.env.BENCH_LIST_NEXT ? seen.next : seen.paused)
    console.log(`  ${c.tier.padEnd(8)} ${c.ms.toFixed(3).padStart(7)} ms  ${c.fn}`)
})
