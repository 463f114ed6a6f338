/**
 * `POST /files/replace` over many small files, two builds taking turns: each round writes
 * `files` files of `bytes` bytes with one match each into a fresh directory, then replaces in all
 * of them with one request (files/s, where each file's wait for the disk dominates). Not run by
 * `make bench`.
 *
 *   bun run bench/replace-files.ts [rounds=5] [files=100,1000] [file bytes=1024]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { makeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 5)
const counts = (process.argv[3] ?? '100,1000').split(',').map(Number)
const fileBytes = Number(process.argv[4] ?? 1024)

interface Side {
  name: string
  d: Execd
  /** Files/s per round, by file count. */
  rates: Map<number, number[]>
}

async function replaceRound(s: Side, work: string, files: number, r: number): Promise<void> {
  const dir = join(work, `${s.name}-${files}-${r}`)
  mkdirSync(dir)
  const content = `${'x'.repeat(Math.max(0, fileBytes - 6))}needle`
  const body: Record<string, { old: string; new: string }> = {}
  for (let i = 0; i < files; i++) {
    const path = join(dir, `f${i}`)
    writeFileSync(path, content)
    body[path] = { old: 'needle', new: 'thread' }
  }
  const t0 = performance.now()
  const res = await s.d.post('/files/replace', body)
  const text = await res.text()
  const seconds = (performance.now() - t0) / 1000
  if (res.status !== 200) throw new Error(`${s.name}: POST /files/replace: ${res.status} ${text.slice(0, 300)}`)
  if (!readFileSync(join(dir, `f${files - 1}`), 'utf8').endsWith('thread')) throw new Error(`${s.name}: not replaced`)
  if (r >= 0) s.rates.get(files)!.push(files / seconds)
  rmSync(dir, { recursive: true, force: true })
}

async function main(): Promise<void> {
  const work = makeTempDir('replace-files')
  const side = async (name: string, bin?: string): Promise<Side> => ({
    name,
    d: await startExecd(bin ? { bin } : {}),
    rates: new Map(counts.map(n => [n, []])),
  })
  const sides: Side[] = [await side('new')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await side('before', before))
  try {
    // One untimed request each first: a fresh execd's first replace pays its JIT.
    for (const s of sides) await replaceRound(s, work, counts[0]!, -1)
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...sides].reverse() : sides
      for (const files of counts) for (const s of order) await replaceRound(s, work, files, r)
    }
    const med = (xs: number[]) => percentile(xs, 0.5)
    for (const files of counts) {
      for (const s of sides) {
        const xs = s.rates.get(files)!
        console.log(
          `${s.name}: ${files} × ${fileBytes} B: ${med(xs).toFixed(0)} files/s (${xs.map(x => x.toFixed(0)).join(', ')})`,
        )
      }
      if (sides.length === 2) {
        const ratio = med(sides[0]!.rates.get(files)!) / med(sides[1]!.rates.get(files)!)
        console.log(`${files} files: new/before (medians of ${rounds} rounds): ${ratio.toFixed(2)}`)
      }
    }
  } finally {
    for (const s of sides) await s.d.stop()
  }
}

await runThenClean(main)
