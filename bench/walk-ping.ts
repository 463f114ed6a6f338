/**
 * How long `/ping` waits while a big walk runs in the same execd: the slowest answer and the
 * 99th percentile during a search of 100,000 files, a listing of one directory of 100,000
 * entries, a removal of the 100,000-file tree and a move of it to another filesystem (a copy,
 * then a removal). Each is beside `/ping` with nothing else running, measured in the same run
 * (the floor the machine's load gives). At load a wait says as much of the machine as of execd,
 * so each daemon also runs the loop-lag probe (core/loop-lag.ts): of its stalls (a turn 50 ms
 * late or more), the most CPU its main thread spent in one, which the load does not add to.
 * Not run by `make bench`.
 *
 *   bun run bench/walk-ping.ts [rounds=2] [files=100000]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, measured beside dist/execd
 *   BENCH_WALK_PING_OTHER=/dev/shm      where the move goes (must be another filesystem)
 *   BENCH_WALK_PING_OPS=idle,list        only the operations whose names start so (comma-separated)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { pingWaits } from './lib/ping-waits'
import { makeTempDir, removeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { wideTree } from './lib/wide-tree'

const rounds = Number(process.argv[2] ?? 2)
const files = Number(process.argv[3] ?? 100_000)
const DIRS = 1000
/** Between one `/ping` answer and the next question: often enough for a p99, not a flood. */
const GAP_MS = 2

/** `files` files shared out among DIRS directories. */
const wide = (root: string) => wideTree(root, files, DIRS)

/** `files` files in one directory. */
function flat(root: string): void {
  mkdirSync(root)
  for (let f = 0; f < files; f++) writeFileSync(join(root, `f${f}.txt`), '')
}

/** The answer read and let go a chunk at a time: a 20 MB `text()` was work of the bench's, not the daemon's. */
async function ok(res: Response, what: string): Promise<void> {
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 300)}`)
  const reader = res.body?.getReader()
  while (reader && !(await reader.read()).done) {}
}

const q = (p: string) => encodeURIComponent(p)

interface Op {
  name: string
  /** Makes what the operation needs (not measured). */
  before: (base: string) => void
  run: (d: Execd, base: string) => Promise<void>
}

function ops(other: string): Op[] {
  return [
    { name: 'idle', before: () => {}, run: () => Bun.sleep(1500) },
    {
      name: 'search',
      before: base => wide(join(base, 'wide')),
      run: async (d, base) => ok(await d.fetch(`/files/search?path=${q(join(base, 'wide'))}&pattern=f1*`), 'search'),
    },
    {
      name: 'list flat',
      before: base => flat(join(base, 'flat')),
      run: async (d, base) => ok(await d.fetch(`/directories/list?path=${q(join(base, 'flat'))}&depth=1`), 'list'),
    },
    {
      name: 'remove',
      before: base => wide(join(base, 'gone')),
      run: async (d, base) =>
        ok(await d.fetch(`/directories?path=${q(join(base, 'gone'))}`, { method: 'DELETE' }), 'rm'),
    },
    {
      name: 'move across',
      before: base => wide(join(base, 'moved')),
      run: async (d, base) => {
        const dest = join(other, `walk-ping-${process.pid}`)
        try {
          await ok(await d.post('/files/mv', [{ src: join(base, 'moved'), dest }]), 'mv')
        } finally {
          await d.fetch(`/directories?path=${q(dest)}`, { method: 'DELETE' })
        }
      },
    },
  ]
}

/** The stalls the loop-lag probe logged past the `from`-th: each one's CPU on the main thread, ms. */
function stallsAfter(log: string, from: number): number[] {
  if (!existsSync(log)) return []
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean)
  return lines.slice(from).map(line => (JSON.parse(line) as { runMs: number }).runMs)
}

async function main(): Promise<void> {
  const names: [string, string | undefined][] = [['new', undefined]]
  if (process.env.BENCH_EXECD_BEFORE) names.push(['before', process.env.BENCH_EXECD_BEFORE])
  const logs = makeTempDir('walk-ping-lag-')
  const sides = await Promise.all(
    names.map(async ([name, bin]) => {
      const lag = join(logs, `${name}.jsonl`)
      return { name, lag, d: await startExecd({ bin, env: { EXECD_LOOP_LAG_LOG: lag } }) }
    }),
  )
  const base = makeTempDir('walk-ping-')
  const other = process.env.BENCH_WALK_PING_OTHER ?? '/dev/shm'
  const waits = new Map<string, number[]>()
  const stalls = new Map<string, number[]>()
  try {
    const only = process.env.BENCH_WALK_PING_OPS?.split(',').filter(Boolean)
    for (const op of ops(other).filter(o => !only || only.some(name => o.name.startsWith(name)))) {
      for (let r = 0; r < rounds; r++) {
        for (const s of r % 2 ? [...sides].reverse() : sides) {
          op.before(base)
          const logged = stallsAfter(s.lag, 0).length
          const t0 = performance.now()
          const got = await pingWaits(s.d, () => op.run(s.d, base), GAP_MS)
          const took = performance.now() - t0
          const key = `${s.name} ${op.name}`
          waits.set(key, [...(waits.get(key) ?? []), ...got])
          stalls.set(key, [...(stalls.get(key) ?? []), ...stallsAfter(s.lag, logged)])
          console.log(`  ${key}: round ${r + 1} ${took.toFixed(0)} ms, ${got.length} pings`)
          await Bun.$`rm -rf ${base}`.quiet()
          mkdirSync(base)
        }
      }
    }
  } finally {
    for (const s of sides) await s.d.stop()
    removeTempDir(base)
    removeTempDir(logs)
  }
  console.log(`\n/ping wait beside each operation, ${files} entries, ${rounds} rounds (all pings pooled):`)
  for (const [key, xs] of waits) {
    const max = Math.max(...xs)
    const cpu = stalls.get(key) ?? []
    const held = cpu.length ? `${Math.max(...cpu).toFixed(0)} ms CPU at most` : 'none'
    console.log(
      `  ${key}: max ${max.toFixed(1)} ms, p99 ${percentile(xs, 0.99).toFixed(1)} ms, n=${xs.length};` +
        ` ${cpu.length} stalls, ${held}`,
    )
  }
}

await runThenClean(main)
