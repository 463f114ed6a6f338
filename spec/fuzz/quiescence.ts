/**
 * The fuzz's quiescence check: once every client has left, every capped pool of the daemon must
 * drain. A held slot nobody can give back is a leak; a full pool while the fuzz held as many is
 * a burst. The daemon says who holds what on SIGUSR2 (one `slots held` log line,
 * cmd/serve-signals.ts; docs/contract.md "Held slots"): no route of the contract is added for it.
 * - streams, downloads still sending, uploads' open directories, proxied requests and proxied
 *   WebSockets are a client's own: none may stay held;
 * - commands, cells and session runs outlive their client: they must end within the bound
 *   (the fuzz runs only short ones; races delete their sleeps);
 * - sessions, contexts and terminals live until deleted: none may hold more slots than exist.
 */
import type { Daemon } from '../harness'
import { type CaseSpan, type Finding, inFlight } from './campaign'
import { raceDaemons } from './races'
import type { World } from './world'

export interface Pool {
  what: string
  max: number
  held: number
  live?: number
  byKind: Record<string, number>
  oldest: { kind: string; ms: number; units?: number }[]
}

/** What the daemon holds, as its `slots held` line said it at `at` (epoch ms, the line's ts). */
export interface HeldReport {
  at: number
  pools: Pool[]
}

const LINE = '"msg":"slots held"'

/** SIGUSR2, then the `slots held` line the daemon writes for it (undefined: none within `waitMs`). */
export async function askHeld(d: Daemon, waitMs = 3000): Promise<HeldReport | undefined> {
  const from = d.logs().length
  const deadline = Date.now() + waitMs
  let asked = 0
  while (Date.now() < deadline && d.proc.exitCode === null) {
    // The daemon writes at most ten such lines a second: ask again only after that.
    if (Date.now() - asked > 250) {
      d.proc.kill('SIGUSR2')
      asked = Date.now()
    }
    await Bun.sleep(25)
    const logs = d.logs()
    const i = logs.indexOf(LINE, from)
    if (i < 0) continue
    const start = logs.lastIndexOf('\n', i) + 1
    const end = logs.indexOf('\n', i)
    if (end < 0) continue
    try {
      const line = JSON.parse(logs.slice(start, end)) as { ts: string; pools: Pool[] }
      return { at: Date.parse(line.ts), pools: line.pools }
    } catch {
      return undefined
    }
  }
  return undefined
}

/** Pools whose slots a client holds, or work it started: with no client, these drain to zero. */
const leaksOf = (pools: Pool[]): Pool[] => pools.filter(p => (p.live === undefined ? p.held > 0 : p.held > p.live))

/**
 * Waits up to `boundMs` for every pool to drain (no case may be in flight); each one still held
 * then is a finding that names the pool, who holds it, and the cases in flight when its oldest
 * slots were taken (`spans`, epoch ms; the daemon's log gives the slots' ages).
 */
export async function quiescence(d: Daemon, spans: readonly CaseSpan[], boundMs: number): Promise<Finding[]> {
  const deadline = Date.now() + boundMs
  let report: HeldReport | undefined
  let left: Pool[] = []
  for (;;) {
    report = await askHeld(d)
    if (!report) {
      if (d.proc.exitCode !== null) return [] // a dead daemon is the campaign's crash, not a leak
      return [finding('no answer', `execd wrote no 'slots held' line within 3 s of SIGUSR2`, [])]
    }
    left = leaksOf(report.pools)
    if (!left.length || Date.now() > deadline) break
    await Bun.sleep(200)
  }
  const at = report.at
  return left.map(p => {
    const taken = [...new Set(p.oldest.map(s => at - s.ms))]
    const suspects = taken.flatMap(t =>
      inFlight(spans, t - 100, t + 100)
        .slice(0, 3)
        .map(s => s.label),
    )
    const beforeAll = spans.length > 0 && taken.some(t => t < spans[0]!.start)
    const last = spans
      .filter(s => s.end <= at)
      .slice(-3)
      .map(s => s.label)
    const live = p.live === undefined ? '' : ` for ${p.live} live`
    const detail =
      `${p.what}: ${p.held} held${live} ${boundMs} ms after every client left (max ${p.max}); ` +
      `by kind ${JSON.stringify(p.byKind)}; oldest held ${p.oldest.map(s => `${s.kind || '-'} ${s.ms} ms`).join(', ')}` +
      (beforeAll ? '; some taken before the campaign (regressions)' : '')
    const cases = [...new Set(suspects)]
    return finding(
      p.what,
      detail,
      cases.length ? cases.map(c => `in flight when taken: ${c}`) : last.map(c => `last before the check: ${c}`),
    )
  })
}

/** quiescence() of the world's daemon and of every daemon a race started for itself, at once. */
export async function drained(w: World, spans: readonly CaseSpan[], boundMs: number): Promise<Finding[]> {
  const all: [string, Daemon][] = [['', w.daemon], ...(await raceDaemons())]
  const found = await Promise.all(
    all.map(async ([name, d]) =>
      (await quiescence(d, spans, boundMs)).map(f => (name ? { ...f, op: `${f.op} (the ${name} daemon)` } : f)),
    ),
  )
  return found.flat()
}

const finding = (pool: string, detail: string, cases: string[]): Finding => ({
  kind: 'leak',
  op: `quiescence ${pool}`,
  detail,
  example: cases.join('\n      ') || '(no case recorded)',
})
