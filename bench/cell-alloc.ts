/**
 * What a warm cell allocates in execd's heap, which no other tenant's load changes: the bytes
 * JavaScriptCore counts as allocated between collections (`BUN_JSC_logGC=1` on the daemon),
 * and the collections themselves, per python `x + 1` to execution_complete, in rounds taking
 * turns between two builds. CPU per cell on this shared machine swings ±50% round to round;
 * bytes per cell do not. Not run by `make bench`.
 *
 *   bun run bench/cell-alloc.ts [language=python] [rounds=8] [cells per round=3000]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *   BENCH_CELL_WARMUP=3000              untimed cells first
 */
import { createContext, runCode } from './lib/code'
import { type Execd, startExecd } from './lib/execd'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'

const language = process.argv[2] ?? 'python'
const rounds = Number(process.argv[3] ?? 8)
const perRound = Number(process.argv[4] ?? 3000)
const warmup = Number(process.env.BENCH_CELL_WARMUP ?? 3000)

interface Side {
  name: string
  d: Execd
  id: string
  /** Bytes reported by every "Requesting GC" line so far, and collections by kind. */
  gc: { bytes: number; eden: number; full: number }
  rounds: { bytes: number; eden: number; full: number }[]
}

/** Counts what the GC log says as it comes (lines may arrive split). */
function gcCounter(side: Pick<Side, 'gc'>): (text: string) => void {
  let rest = ''
  return text => {
    const lines = (rest + text).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) {
      const asked = /bytes allocated this cycle: (\d+)/.exec(line)
      if (asked) side.gc.bytes += Number(asked[1])
      if (line.includes('=> EdenCollection')) side.gc.eden++
      if (line.includes('=> FullCollection')) side.gc.full++
    }
  }
}

async function open(name: string, bin?: string): Promise<Side> {
  const side: Side = { name, d: undefined as unknown as Execd, id: '', gc: { bytes: 0, eden: 0, full: 0 }, rounds: [] }
  side.d = await startExecd({ bin, env: { BUN_JSC_logGC: '1' }, onStderr: gcCounter(side) })
  side.id = await createContext(side.d, language)
  await runCode(side.d, side.id, language, language === 'python' ? 'x = 1' : 'let x = 1')
  for (let i = 0; i < warmup; i++) await runCode(side.d, side.id, language, 'x + 1')
  return side
}

async function round(s: Side): Promise<void> {
  const before = { ...s.gc }
  for (let i = 0; i < perRound; i++) await runCode(s.d, s.id, language, 'x + 1')
  // The log of the last collection may still be on its way.
  await Bun.sleep(50)
  s.rounds.push({ bytes: s.gc.bytes - before.bytes, eden: s.gc.eden - before.eden, full: s.gc.full - before.full })
}

async function main(): Promise<void> {
  const sides = [await open('execd')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await open('before', before))
  for (let r = 0; r < rounds; r++) for (const s of r % 2 ? [...sides].reverse() : sides) await round(s)
  const load = (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
  console.log(`${language}, ${rounds} rounds of ${perRound} cells after ${warmup}, turns taken; load ${load}`)
  for (const s of sides) {
    const all = s.rounds.reduce(
      (a, r) => ({ bytes: a.bytes + r.bytes, eden: a.eden + r.eden, full: a.full + r.full }),
      {
        bytes: 0,
        eden: 0,
        full: 0,
      },
    )
    const perCell = s.rounds.map(r => r.bytes / perRound)
    // A round sees a whole number of collections (each ~10 MB of allocation), so the rounds'
    // figures come in steps; the total over all of them is the estimate.
    console.log(
      `${s.name.padEnd(7)} KB allocated per cell: in all ${(all.bytes / (rounds * perRound) / 1000).toFixed(2)},` +
        ` median of rounds ${(percentile(perCell, 0.5) / 1000).toFixed(2)}` +
        ` (rounds ${perCell.map(b => (b / 1000).toFixed(1)).join(' ')}); collections per 1000 cells:` +
        ` eden ${((all.eden * 1000) / (rounds * perRound)).toFixed(2)}, full ${((all.full * 1000) / (rounds * perRound)).toFixed(2)}`,
    )
  }
}

await runThenClean(main)
