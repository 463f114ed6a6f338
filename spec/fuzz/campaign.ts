/**
 * A seeded, time-bounded fuzz campaign: a few lanes (one request in flight each) run fast-check
 * properties over every operation; a failure of a kind not seen yet is shrunk by fast-check
 * (within a budget) and recorded, then the lane goes on with a fresh seed.
 */
import fc from 'fast-check'
import type { Case } from './cases'
import { type FailureKind, type Violation, violations } from './check'
import { newFailuresUntilDeadline } from './first-failure'
import { httpCase, operations } from './operations'
import { send, target, type Ports } from './send'
import { describe } from './values'
import { type RaceCase, raceCase, raceLabel, runRace } from './races'
import { type Language, type RuntimeCase, runRuntime, runtimeCase, runtimeLabel } from './runtimes'
import { drained } from './quiescence'
import { escapes, restoreRoot, snapshot, type World } from './world'
import { runWs, wsCase } from './ws'

export interface Settings {
  seconds: number
  seed: number
  lanes: number
  /** Every request must be answered within this. */
  requestMs: number
  /**
   * How often a racing sequence and a runtime context case (java, go, sql, Jupyter, python) come,
   * against an operation's 4 (races.ts, runtimes.ts); 0 leaves them out. Defaults: 10, and 1 per
   * runtime served.
   */
  raceWeight?: number
  runtimeWeight?: number
  /**
   * Every this many ms the lanes stop between cases, and once none is in flight every capped
   * pool must drain within `quietBoundMs` (quiescence.ts); 0: only the caller's check at the end.
   */
  quietEveryMs?: number
  quietBoundMs?: number
}

export interface Finding {
  kind: FailureKind
  /** The route of the example; `ops` lists every route where the same failure showed. */
  op: string
  ops?: string[]
  detail: string
  /** The smallest failing case fast-check found (within the shrink budget). */
  example: string
}

export interface Campaign {
  seed: number
  seconds: number
  cases: number
  routes: string[]
  covered: string[]
  findings: Finding[]
  /** Times the daemon died and was restarted during the campaign. */
  restarts: number
  /** Failing cases by kind, counting every occurrence (not only the first of a signature). */
  byKind: Partial<Record<FailureKind, number>>
  /** Every case with when it ran (epoch ms), to name what was in flight during a slow /ping. */
  spans: CaseSpan[]
  /** Scenarios run, by what they did: a race's name, a runtime step's language and action. */
  scenarios: Record<string, number>
  /** Quiescence checks passed within the campaign (the pools drained each time), and the ms the lanes stood for all of them. */
  quiet: number
  quietMs: number
}

export interface CaseSpan {
  start: number
  end: number
  label: string
}

/** The cases that overlapped [from, to], longest first. */
export const inFlight = (spans: readonly CaseSpan[], from: number, to: number): CaseSpan[] =>
  spans.filter(s => s.start <= to && s.end >= from).sort((a, b) => b.end - b.start - (a.end - a.start))

const WS_OP = 'GET /pty/{id}/ws'
const SHRINK_BUDGET = 20

export function caseLabel(c: Case, w: World, ports: Ports): string {
  if (c.kind === 'race') return raceLabel(c)
  if (c.kind === 'runtime') return runtimeLabel(c)
  if (c.kind === 'ws') return `WS ${describe({ query: c.query, frames: c.frames })}`
  const framing = c.raw ? ` raw ${describe(c.raw)}` : ''
  let url = ''
  try {
    url = target(c, w, ports)
  } catch {}
  const body = c.body ? ` body ${describe(c.body)}` : ''
  const headers =
    (c.headers?.length ? ` headers ${describe(Object.fromEntries(c.headers))}` : '') +
    (c.token && c.token !== 'valid' ? ` token=${c.token}` : '')
  return `${c.method} ${url.length > 300 ? `${url.slice(0, 300)}…(${url.length})` : url} ct=${c.contentType} origin=${c.origin}${headers}${framing}${body}`
}

export async function runCampaign(w: World, ports: Ports, s: Settings): Promise<Campaign> {
  const doc = await (await w.daemon.fetch('/openapi.json')).json()
  const ops = operations(doc)
  const runtimes = await availableRuntimes(w)
  const raceWeight = s.raceWeight ?? 10
  const runtimeWeight = runtimes.length ? (s.runtimeWeight ?? runtimes.length) : 0
  // Every operation as HTTP (the WebSocket route too, without an upgrade), the WebSocket
  // itself about as often as three operations, racing sequences about as often as two and a
  // half, a runtime's context case (java, go, sql, Jupyter) as a quarter of one per language.
  const arb: fc.Arbitrary<Case> = fc.oneof(
    ...ops.map(op => ({ weight: 4, arbitrary: httpCase(op) as fc.Arbitrary<Case> })),
    { weight: 12, arbitrary: wsCase as fc.Arbitrary<Case> },
    ...(raceWeight > 0 ? [{ weight: raceWeight, arbitrary: raceCase as fc.Arbitrary<Case> }] : []),
    ...(runtimeWeight > 0 ? [{ weight: runtimeWeight, arbitrary: runtimeCase(runtimes) as fc.Arbitrary<Case> }] : []),
  )
  const scenarios: Record<string, number> = {}
  const reached = (key: string) => void (scenarios[key] = (scenarios[key] ?? 0) + 1)
  // A JVM is ~1 s of CPU to start: one runtime case at a time, whatever the lanes.
  let runtimeBusy: Promise<unknown> = Promise.resolve()
  const started = Date.now()
  const crashesBefore = w.crashes.length
  const deadline = started + s.seconds * 1000
  const known = new Set<string>()
  const findings: (Finding & { sig: string })[] = []
  const byKind: Partial<Record<FailureKind, number>> = {}
  const covered = new Set<string>()
  let cases = 0
  // The tree beside the root is a few dozen entries: checked after every case, so an escape is
  // reported with the case that made it (or one of the few in flight with it).
  let tree = snapshot(w.layout)
  let restarting: Promise<void> | null = null
  const restartOnce = () => (restarting ??= w.restart().finally(() => (restarting = null)))

  const spans: CaseSpan[] = []
  // The quiescence gate: due every quietEveryMs, it holds each lane before its next case, waits
  // for the cases in flight to end, and checks that the pools drained (quiescence.ts).
  const quietEvery = s.quietEveryMs ?? 0
  let nextQuiet = started + quietEvery
  let casesInFlight = 0
  let gate: Promise<void> | null = null
  let quiet = 0
  let quietMs = 0
  const quiesce = async () => {
    const t0 = Date.now()
    while (casesInFlight > 0) await Bun.sleep(20)
    if (restarting) await restarting
    const leaks = await drained(w, spans, s.quietBoundMs ?? 15_000)
    for (const f of leaks) {
      byKind.leak = (byKind.leak ?? 0) + 1
      const sig = `leak ${f.op}`
      if (known.has(sig)) continue
      known.add(sig)
      findings.push({ ...f, sig })
    }
    if (!leaks.length) quiet++
    quietMs += Date.now() - t0
    nextQuiet = Date.now() + quietEvery
  }
  const runOne = async (c: Case): Promise<Violation[]> => {
    if (quietEvery > 0 && !gate && Date.now() >= nextQuiet && Date.now() < deadline)
      gate = quiesce().finally(() => (gate = null))
    while (gate) await gate
    casesInFlight++
    const span = { start: Date.now(), end: 0, label: '' }
    try {
      return await runCase(c)
    } finally {
      casesInFlight--
      span.end = Date.now()
      span.label = caseLabel(c, w, ports).slice(0, 240)
      spans.push(span)
    }
  }
  const runCase = async (c: Case): Promise<Violation[]> => {
    cases++
    const op = opOf(c)
    if (c.kind === 'http' || c.kind === 'ws') covered.add(op)
    let v: Violation[] = []
    let suspect = c.kind !== 'http'
    try {
      if (c.kind === 'ws') v = await runWs(c, w)
      else if (c.kind === 'race') {
        reached(`race ${c.race}`)
        v = await runRace(c, w)
      } else if (c.kind === 'runtime') {
        // A runtime case is seconds long: none starts too near the end of the run.
        if (Date.now() > deadline - 8000) return []
        const turn = runtimeBusy.then(() => runRuntime(c, w))
        runtimeBusy = turn.catch(() => {})
        for (const st of c.steps) reached(`${c.language} ${st.action}`)
        v = await turn
      } else {
        const a = await send(c, w, ports, s.requestMs)
        suspect = a.outcome === 'closed'
        v = violations(c, a, w.marker)
      }
    } catch {
      // The daemon went away under the case (refused connection): see below whether it died.
      suspect = true
    }
    // A crash is asynchronous (a frame handled after the answer): ask before blaming no one.
    const daemon = w.daemon
    if (daemon.proc.exitCode !== null || (suspect && !restarting && !(await w.settled()))) {
      if (w.daemon === daemon) await restartOnce()
      v.push({ kind: 'crash', detail: `execd exited: ${w.crashes.at(-1)}` })
    } else if (restarting) await restarting
    for (const x of v) {
      byKind[x.kind] = (byKind[x.kind] ?? 0) + 1
      const sig = signature(c, x)
      where.set(sig, (where.get(sig) ?? new Set()).add(op))
    }
    const now = snapshot(w.layout)
    const changed = escapes(tree, now)
    tree = now
    if (changed.length) {
      const inFlight = s.lanes > 1 ? ` (one of ${s.lanes} cases in flight; FUZZ_LANES=1 pins it)` : ''
      const what = changed.slice(0, 3).map(c => c.replace(w.layout.base, '<base>'))
      v.push({ kind: 'escape', detail: `${what.join('; ')}${inFlight}` })
    }
    // A case that removed the root (an empty path) must not turn every later case into noise.
    restoreRoot(w.layout)
    return v
  }
  // One root cause (an odd Host, say) fails on every route: a failure is known by its kind and
  // the start of its detail, and the routes where it showed are listed with it.
  // A scenario's detail starts with the request's label: what went wrong comes after it.
  const signature = (c: Case, v: Violation) =>
    v.kind === 'escape'
      ? `escape ${/^\w+ (\S*)\//.exec(v.detail)?.[1] ?? v.detail}`
      : `${v.kind} ${v.detail.replace(/\d+|[0-9a-f-]{8,}/g, '#').slice(0, c.kind === 'race' || c.kind === 'runtime' ? 200 : 48)}`
  const where = new Map<string, Set<string>>()

  const record = (c: Case, vs: readonly Violation[]) => {
    for (const v of vs) {
      const sig = signature(c, v)
      if (known.has(sig)) continue
      known.add(sig)
      findings.push({ sig, kind: v.kind, op: opOf(c), detail: v.detail, example: caseLabel(c, w, ports) })
    }
  }

  const lane = async (i: number) => {
    // Every operation once up front, shared out among the lanes and not cut by the deadline: a
    // short run (the suite's 25 s on a busy machine, with the quiescence stops) covers every
    // route whatever the seed draws.
    for (const [j, op] of ops.entries()) {
      if (j % s.lanes !== i) continue
      for (const c of fc.sample(httpCase(op) as fc.Arbitrary<Case>, { seed: s.seed + j, numRuns: 1 }))
        record(c, await runOne(c))
    }
    await newFailuresUntilDeadline(
      arb,
      runOne,
      i,
      {
        seed: s.seed,
        deadline,
        graceMs: 20_000,
        shrinkBudget: SHRINK_BUDGET,
        known: (c, v) => known.has(signature(c, v)),
      },
      record,
    )
  }
  await Promise.all(Array.from({ length: s.lanes }, (_, i) => lane(i)))
  return {
    seed: s.seed,
    seconds: (Date.now() - started) / 1000,
    cases,
    routes: ops.map(op => op.key),
    covered: [...covered],
    restarts: w.crashes.length - crashesBefore,
    findings: findings.map(f => ({ ...f, ops: [...(where.get(f.sig) ?? [])] })),
    byKind,
    spans,
    scenarios,
    quiet,
    quietMs,
  }
}

const opOf = (c: Case): string =>
  c.kind === 'ws' ? WS_OP : c.kind === 'race' ? `race ${c.race}` : c.kind === 'runtime' ? `${c.language} context` : c.op

/** The runtimes of runtimes.ts this daemon serves (GET /code/languages): the others are not fuzzed. */
async function availableRuntimes(w: World): Promise<Language[]> {
  try {
    const list = (await (await w.daemon.fetch('/code/languages')).json()) as { language: string; available: boolean }[]
    return (['java', 'go', 'sql', 'snake', 'python'] as Language[]).filter(l =>
      list.some(x => x.language === l && x.available),
    )
  } catch {
    return []
  }
}

export type { RaceCase, RuntimeCase }
