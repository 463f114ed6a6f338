/**
 * What a capped pool's slot costs (core/limits.ts Capacity, core/held-slots.ts): taking one and
 * giving it back, in process, this tree's Capacity beside the one of `ref` (its core/ extracted
 * by `git archive` into a temp dir), in interleaved rounds, the order rotating; and what the
 * front door adds per request to name who holds `--max-requests` (core/requests-in-flight.ts:
 * a request held until its answer settles), beside the same promise and its settling without it.
 * Not run by `make bench`.
 *
 *   bun run bench/slot-cost.ts [ref=main] [pairs=2000000] [rounds=7]
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Capacity } from '../core/limits'
import { RequestsInFlight } from '../core/requests-in-flight'
import { summarize } from './lib/stats'

const ref = process.argv[2] ?? 'main'
const pairs = Number(process.argv[3] ?? 2_000_000)
const rounds = Number(process.argv[4] ?? 7)

/** core/ of `ref`, in a temp dir: only its own files, which import nothing outside it. */
function extractCore(dir: string): string {
  const archive = spawnSync('git', ['archive', ref, 'core'], { cwd: join(import.meta.dir, '..'), maxBuffer: 1 << 28 })
  if (archive.status !== 0) throw new Error(`git archive ${ref}: ${archive.stderr}`)
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout })
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`)
  return join(dir, 'core', 'limits.ts')
}

type Pool = { acquire(kind?: string): () => void }

/**
 * ns per pair: take a slot, give it back, as a stream does (a route as its kind). A loop of its
 * own for each side: one loop for both saw two classes at one call and compiled it for both.
 */
const pairLoop = (): ((pool: Pool, pairs: number) => number) =>
  new Function(
    'pool',
    'pairs',
    "const t0 = performance.now(); for (let i = 0; i < pairs; i++) pool.acquire('POST /command')(); return ((performance.now() - t0) * 1e6) / pairs",
  ) as (pool: Pool, pairs: number) => number

/** ns per request: a settled answer, with or without the front door's hold on it. */
async function requestNs(track: boolean, inFlight: RequestsInFlight): Promise<number> {
  const n = Math.floor(pairs / 10)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const answer = Promise.resolve(i)
    void (track ? inFlight.track('POST', '/code', answer) : answer).then(() => {})
    // Settled a batch at a time, as a loaded door's answers are.
    if (i % 1000 === 999) await Promise.resolve()
  }
  await new Promise(r => setTimeout(r, 0))
  return ((performance.now() - t0) * 1e6) / n
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'slot-cost-'))
  try {
    const { Capacity: RefCapacity } = (await import(extractCore(dir))) as { Capacity: typeof Capacity }
    const sides: [string, Pool, ReturnType<typeof pairLoop>][] = [
      [ref, new RefCapacity('concurrent streams', 0, 'max-streams'), pairLoop()],
      ['this tree', new Capacity('concurrent streams', 0, 'max-streams'), pairLoop()],
    ]
    const samples: Record<string, number[]> = { [ref]: [], 'this tree': [], door: [], 'door + held': [] }
    const inFlight = new RequestsInFlight(2048, m => m)
    for (const [, pool, loop] of sides) loop(pool, pairs)
    await requestNs(false, inFlight)
    await requestNs(true, inFlight)
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse()
      for (const [name, pool, loop] of order) samples[name]!.push(loop(pool, pairs))
      for (const track of round % 2 === 0 ? [false, true] : [true, false])
        samples[track ? 'door + held' : 'door']!.push(await requestNs(track, inFlight))
    }
    const m = (k: string) => summarize(samples[k]!).median
    const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
    console.log(`${rounds} rounds, interleaved, medians; load ${load}`)
    console.log(`slot taken and given back: ${ref} ${m(ref).toFixed(0)} ns, this tree ${m('this tree').toFixed(0)} ns`)
    console.log(
      `a request's answer settled: ${m('door').toFixed(0)} ns, held for --max-requests ${m('door + held').toFixed(0)} ns (+${(m('door + held') - m('door')).toFixed(0)})`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
