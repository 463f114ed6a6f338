/**
 * A tour for triage: every race N times (FUZZ_TOUR_N, default 3) and FUZZ_TOUR_RUNTIMES context
 * cases of FUZZ_TOUR_LANGUAGES (default java,go; snake is Jupyter's), each printed with what it
 * found, seeded by FUZZ_SEED; FUZZ_TOUR_ONLY narrows the races to names holding it. `bun spec/fuzz/tour.ts` against dist/execd.
 * At the end (after every case with FUZZ_TOUR_QUIET=each) every capped pool must drain (quiescence.ts).
 */
import fc from 'fast-check'
import { RACES, raceCase, raceLabel, runRace, stopRaceDaemons } from './races'
import { type Language, runRuntime, runtimeCase, runtimeLabel } from './runtimes'
import type { CaseSpan } from './campaign'
import { drained as poolsDrained } from './quiescence'
import { formatFinding, seedFromEnv } from './report'
import { openWorld } from './world'

const seed = seedFromEnv()
const n = Number(process.env.FUZZ_TOUR_N ?? 3)
const runtimes = Number(process.env.FUZZ_TOUR_RUNTIMES ?? 0)
const only = process.env.FUZZ_TOUR_ONLY ?? ''
console.log(`tour: seed ${seed}`)
const languages = (process.env.FUZZ_TOUR_LANGUAGES ?? 'java,go').split(',') as Language[]
const w = await openWorld({ jupyter: languages.includes('snake') })
let found = 0
const spans: CaseSpan[] = []
const eachQuiet = process.env.FUZZ_TOUR_QUIET === 'each'
const drained = async () => {
  const leaks = await poolsDrained(w, spans, 15_000)
  for (const f of leaks) console.log(formatFinding(f))
  found += leaks.length
}
const show = async (ms: number, label: string, v: unknown[]) => {
  found += v.length
  spans.push({ start: Date.now() - ms, end: Date.now(), label })
  console.log(
    `${ms.toFixed(0).padStart(6)} ms ${label}${v.length ? `\n  ${v.map(x => JSON.stringify(x)).join('\n  ')}` : ''}`,
  )
  if (eachQuiet) await drained()
}
try {
  for (const race of RACES.filter(r => r.includes(only)))
    for (const c of fc.sample(
      raceCase.map(c => ({ ...c, race })),
      { numRuns: n, seed },
    )) {
      const t0 = performance.now()
      const v = await runRace(c, w)
      await show(performance.now() - t0, raceLabel(c), v)
    }
  for (const c of runtimes ? fc.sample(runtimeCase(languages), { numRuns: runtimes, seed }) : []) {
    const t0 = performance.now()
    const v = await runRuntime(c, w)
    await show(performance.now() - t0, runtimeLabel(c), v)
  }
  if (!eachQuiet) await drained()
} finally {
  const ping = await w.stopPinger()
  console.log(`tour: ${found} finding(s); /ping max ${ping.max.toFixed(0)} ms`)
  await stopRaceDaemons()
  await w.close()
}
process.exit(found ? 1 : 0)
