/**
 * The CLI as a fuzz target: seeded lanes of fast-check properties over cli-cases.ts, each case
 * run by cli-run.ts; a failure of a kind not seen yet is shrunk (within a budget) and recorded.
 * FUZZ_SEED reproduces the cases.
 */
import type { Finding } from './campaign'
import type { Violation } from './check'
import { newFailuresUntilDeadline } from './first-failure'
import { type CliCase, cliCase, cliLabel } from './cli-cases'
import { type CliTarget, runCli } from './cli-run'

export interface CliCampaign {
  seed: number
  seconds: number
  cases: number
  /** Cases by verb and mode (`fs ls --url`, `exec local`). */
  reached: Record<string, number>
  /** Exit codes seen, for the report. */
  exits: Record<string, number>
  slowestMs: number
  slowest: string
  findings: Finding[]
}

const SHRINK_BUDGET = 12
const signature = (v: Violation) => `${v.kind} ${v.detail.replace(/\d+|[0-9a-f-]{8,}/g, '#').slice(0, 60)}`

export async function runCliCampaign(
  t: CliTarget,
  s: { seconds: number; seed: number; lanes: number },
): Promise<CliCampaign> {
  const started = Date.now()
  const deadline = started + s.seconds * 1000
  const known = new Set<string>()
  const findings: Finding[] = []
  const reached: Record<string, number> = {}
  const exits: Record<string, number> = {}
  let cases = 0
  let slowestMs = 0
  let slowest = ''
  const runOne = async (c: CliCase): Promise<Violation[]> => {
    cases++
    const key = `${c.verb} ${c.remote ? '--url' : 'local'}`
    reached[key] = (reached[key] ?? 0) + 1
    const { result, violations } = await runCli(c, t)
    const exit = result.signal ?? String(result.code)
    exits[exit] = (exits[exit] ?? 0) + 1
    if (result.ms > slowestMs) [slowestMs, slowest] = [result.ms, cliLabel(c)]
    return violations
  }
  const lane = async (i: number) => {
    await newFailuresUntilDeadline(
      cliCase,
      runOne,
      i,
      {
        seed: s.seed,
        deadline,
        graceMs: 30_000,
        shrinkBudget: SHRINK_BUDGET,
        known: (_c, v) => known.has(signature(v)),
      },
      (c, vs) => {
        for (const v of vs) {
          if (known.has(signature(v))) continue
          known.add(signature(v))
          findings.push({ kind: v.kind, op: `cli ${c.verb}`, detail: v.detail, example: cliLabel(c) })
        }
      },
    )
  }
  await Promise.all(Array.from({ length: s.lanes }, (_, i) => lane(i)))
  return { seed: s.seed, seconds: (Date.now() - started) / 1000, cases, reached, exits, slowestMs, slowest, findings }
}

export function cliSummary(c: CliCampaign): string {
  const verbs = new Set(Object.keys(c.reached).map(k => k.replace(/ (--url|local)$/, '')))
  return [
    `fuzz cli: seed ${c.seed}: ${c.cases} cases in ${c.seconds.toFixed(1)} s over ${verbs.size} verbs`,
    `fuzz cli: slowest ${c.slowestMs.toFixed(0)} ms: ${c.slowest.slice(0, 240)}`,
    `fuzz cli: reached ${Object.entries(c.reached)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `fuzz cli: exits ${JSON.stringify(c.exits)}`,
  ].join('\n')
}
