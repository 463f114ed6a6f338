/**
 * A tree walked through `dist/execd` over HTTP against `find` and `rm -rf` in the same run:
 * `GET /files/search` and `DELETE /directories` on a deep chain and on a wide tree, wall time
 * (median of the rounds, sides taking turns), execd's peak RSS and, when strace is installed,
 * its system calls per entry. Not run by `make bench`.
 *
 *   bun run bench/walk.ts [rounds=3] [depth=512] [wide files=100000]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, measured beside dist/execd
 *   BENCH_WALK_STRACE=0                 no strace pass (it slows what it counts)
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { hasExecutable, makeTempDir, removeTempDir, runThenClean, spawnTracked, stopProcess } from './lib/procs'
import { pingWaits } from './lib/ping-waits'
import { PeakRss } from './lib/rss'
import { wideTree } from './lib/wide-tree'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 3)
const depth = Number(process.argv[3] ?? 512)
const wideFiles = Number(process.argv[4] ?? 100_000)
const WIDE_DIRS = 1000
const PER_LEVEL = 3

interface Shape {
  name: string
  make: (root: string) => void
  entries: number
}

/** `d/d/…` `depth` deep, with PER_LEVEL files beside each `d` (made by descriptor: no PATH_MAX). */
function deep(root: string): void {
  mkdirSync(root)
  let fd = openSync(root, 'r')
  for (let i = 0; i < depth; i++) {
    mkdirSync(`/proc/self/fd/${fd}/d`)
    for (let f = 0; f < PER_LEVEL; f++) writeFileSync(`/proc/self/fd/${fd}/f${f}.txt`, '')
    const next = openSync(`/proc/self/fd/${fd}/d`, 'r')
    closeSync(fd)
    fd = next
  }
  closeSync(fd)
}

/** WIDE_DIRS directories side by side, the files shared out among them. */
const wide = (root: string) => wideTree(root, wideFiles, WIDE_DIRS)

const SHAPES: Shape[] = [
  { name: `deep ${depth}`, make: deep, entries: depth * (PER_LEVEL + 1) },
  { name: `wide ${wideFiles}`, make: wide, entries: wideFiles + WIDE_DIRS },
]

interface Side {
  name: string
  d: Execd
  search: number[]
  remove: number[]
  rss: number
  /** The slowest `/ping` answered while a search ran. */
  ping: number
}

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await run()
  return performance.now() - t0
}

/** Runs `run` while `/ping` is asked again and again; the slowest answer meanwhile, in ms. */
async function slowestPing(d: Execd, run: () => Promise<void>): Promise<number> {
  return Math.max(0, ...(await pingWaits(d, run, 20)))
}

async function search(d: Execd, root: string): Promise<void> {
  const res = await d.fetch(`/files/search?path=${encodeURIComponent(root)}&pattern=${encodeURIComponent('f1*')}`)
  const body = await res.text()
  if (res.status !== 200) throw new Error(`search: ${res.status} ${body.slice(0, 300)}`)
}

async function remove(d: Execd, root: string): Promise<void> {
  const res = await d.fetch(`/directories?path=${encodeURIComponent(root)}`, { method: 'DELETE' })
  if (res.status !== 200) throw new Error(`remove: ${res.status} ${await res.text()}`)
}

async function tool(argv: string[]): Promise<void> {
  const proc = spawnTracked(argv, { stdout: 'ignore', stderr: 'ignore' })
  if ((await proc.exited) !== 0) throw new Error(`${argv[0]} failed`)
}

const counting = process.env.BENCH_WALK_STRACE !== '0' && hasExecutable('strace')

/** System calls execd made while `run` ran (strace -c -f on its pid). */
async function syscalls(pid: number, run: () => Promise<void>): Promise<number | undefined> {
  const dir = makeTempDir('walk-strace-')
  const out = join(dir, 'count')
  const tracer = spawnTracked(['strace', '-c', '-f', '-qq', '-o', out, '-p', String(pid)], { stderr: 'ignore' })
  await Bun.sleep(500)
  try {
    await run()
  } finally {
    await stopProcess(tracer, 5000)
  }
  const total = /(\d+)\s+(?:\d+\s+)?total$/m.exec(readFileSync(out, 'utf8'))
  removeTempDir(dir)
  return total ? Number(total[1]) : undefined
}

async function measure(shape: Shape, sides: Side[], base: string): Promise<void> {
  const tree = join(base, 'tree')
  shape.make(tree)
  const floor = { search: [] as number[], remove: [] as number[] }
  for (const s of sides) Object.assign(s, { search: [], remove: [], rss: 0, ping: 0 })
  for (let r = 0; r < rounds; r++) {
    floor.search.push(await timed(() => tool(['find', tree, '-name', 'f1*'])))
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      const peak = new PeakRss(s.d.pid).start()
      let took = 0
      const ping = await slowestPing(s.d, async () => void (took = await timed(() => search(s.d, tree))))
      s.search.push(took)
      s.ping = Math.max(s.ping, ping)
      s.rss = Math.max(s.rss, peak.stop() - peak.before)
    }
  }
  const counts = new Map<string, number | undefined>()
  for (const s of counting ? sides : []) {
    counts.set(`${s.name} search`, await syscalls(s.d.pid, () => search(s.d, tree)))
  }
  await tool(['rm', '-rf', tree])
  for (let r = 0; r < rounds; r++) {
    shape.make(tree)
    floor.remove.push(await timed(() => tool(['rm', '-rf', tree])))
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      shape.make(tree)
      s.remove.push(await timed(() => remove(s.d, tree)))
    }
  }
  for (const s of counting ? sides : []) {
    shape.make(tree)
    counts.set(`${s.name} remove`, await syscalls(s.d.pid, () => remove(s.d, tree)))
  }
  const med = (xs: number[]) => percentile(xs, 0.5)
  console.log(`\n${shape.name}: ${shape.entries} entries, ${rounds} rounds (medians)`)
  console.log(`  find -name: ${med(floor.search).toFixed(0)} ms   rm -rf: ${med(floor.remove).toFixed(0)} ms`)
  for (const s of sides) {
    const per = (k: string) => {
      const n = counts.get(`${s.name} ${k}`)
      return n === undefined ? '' : `, ${(n / shape.entries).toFixed(1)} syscalls/entry`
    }
    const ratio = (xs: number[], floorMs: number[]) => (med(xs) / med(floorMs)).toFixed(1)
    console.log(
      `  ${s.name}: search ${med(s.search).toFixed(0)} ms (${ratio(s.search, floor.search)}× find${per('search')}),` +
        ` peak RSS +${s.rss.toFixed(0)} MiB, slowest /ping ${s.ping.toFixed(0)} ms; remove ${med(s.remove).toFixed(0)} ms` +
        ` (${ratio(s.remove, floor.remove)}× rm -rf${per('remove')})`,
    )
  }
}

async function main(): Promise<void> {
  const side = async (name: string, bin?: string): Promise<Side> => ({
    name,
    d: await startExecd({ bin }),
    search: [],
    remove: [],
    rss: 0,
    ping: 0,
  })
  const sides: Side[] = [await side('new')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await side('before', before))
  const base = makeTempDir('walk-bench-')
  try {
    for (const shape of SHAPES) await measure(shape, sides, base)
  } finally {
    for (const s of sides) await s.d.stop()
    removeTempDir(base)
  }
}

await runThenClean(main)
