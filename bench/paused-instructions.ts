/**
 * Instructions of a warm cell sent after a pause against the same cell sent right after another,
 * execd beside row 1h's relay, counted by callgrind (lib/callgrind.ts) so that the machine's load
 * does not move them. Three windows per side, each of `cells` pauses of `pause` ms: nothing after
 * each pause (idle: the timers), one cell after each (paused), two cells after each. paused − idle
 * is what a cell after a pause executes; the third window − paused is what the cell right after
 * it executes. A paused cell that executes no more than the next one pays its extra time in cold
 * caches and the wake-up, not in work; one that executes more has work landing on it (a timer's,
 * a collection's sweep, a cache refilled). Counts are the main thread's and every thread's.
 *
 *   bun run bench/paused-instructions.ts [cells=10] [pause ms=1500] [warm=300] [rounds=1]
 *   BENCH_SIDES=execd,relay   BENCH_EXECD_BIN=<binary>   BENCH_LANGUAGE=javascript (execd only)
 *
 * Needs valgrind and vgdb. Not run by `make bench`.
 */
import { startPythonRelay } from './baselines/python-relay'
import { callgrindDir, callgrindLauncher, countWindow } from './lib/callgrind'
import { createContext, relayClient, runCode } from './lib/code'
import { EXECD_BIN, startExecd } from './lib/execd'
import { runThenClean } from './lib/procs'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [cells, pauseMs, warm, rounds] = [arg(0, 10), arg(1, 1500), arg(2, 300), arg(3, 1)]
const SIDES = (process.env.BENCH_SIDES ?? 'execd,relay').split(',')
const language = process.env.BENCH_LANGUAGE ?? 'python'

interface Side {
  pid: number
  cell(): Promise<unknown>
  stop(): Promise<void>
}

async function start(name: string, launcher: string[]): Promise<Side> {
  if (name === 'execd') {
    const d = await startExecd({ launcher, startWithinMs: 120_000, bin: process.env.BENCH_EXECD_BIN ?? EXECD_BIN })
    const id = await createContext(d, language)
    await runCode(d, id, language, language === 'python' ? 'x = 1' : 'var x = 1')
    return { pid: d.pid, cell: () => runCode(d, id, language, 'x + 1'), stop: d.stop }
  }
  const r = await startPythonRelay('/usr/bin/python3', launcher, 120_000)
  const client = relayClient(r.url)
  await runCode(client, '', 'python', 'x = 1')
  return { pid: r.pid, cell: () => runCode(client, '', 'python', 'x + 1'), stop: r.stop }
}

/** `cells` times: a pause, then `each` cells back to back. */
const windowOf = (side: Side, each: number) => async () => {
  for (let i = 0; i < cells; i++) {
    await Bun.sleep(pauseMs)
    for (let j = 0; j < each; j++) await side.cell()
  }
}

const k = (n: number) => `${(n / cells / 1000).toFixed(1)}k`

await runThenClean(async () => {
  const dir = callgrindDir()
  const launcher = callgrindLauncher(dir)
  for (let round = 1; round <= rounds; round++) {
    for (const name of SIDES) {
      const side = await start(name, launcher)
      for (let i = 0; i < warm; i++) await side.cell()
      // The three windows in turn, twice, so that a collection or compile in one is seen as such.
      const sums = { idle: { main: 0, all: 0 }, one: { main: 0, all: 0 }, two: { main: 0, all: 0 } }
      for (let pass = 0; pass < 2; pass++)
        for (const [w, each] of [
          ['idle', 0],
          ['one', 1],
          ['two', 2],
        ] as const) {
          const d = await countWindow(dir, side.pid, windowOf(side, each))
          sums[w].main += d.main / 2
          sums[w].all += d.all / 2
        }
      const line = (what: 'main' | 'all') =>
        `${what} idle ${k(sums.idle[what])}/pause, paused cell ${k(sums.one[what] - sums.idle[what])}, next cell ${k(sums.two[what] - sums.one[what])}`
      console.log(`round ${round} ${name.padEnd(6)} ${line('main')} | ${line('all')}`)
      await side.stop()
    }
  }
})
