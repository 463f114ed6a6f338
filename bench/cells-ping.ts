/**
 * Whether execd's event loop is held while a Go cell builds with cgo (`import "C"`) and a Java
 * cell is interrupted, as the fuzzer saw (seed 55001: a `/ping` of 3,793 ms at load 13–19 with
 * both in flight). Each round starts a go and a java context, runs the cgo cell and a java
 * `while (true) {}` it interrupts after 1 s (and again each 0.5 s until it ends), while a Worker
 * pings every 20 ms; the daemon runs the loop-lag probe (core/loop-lag.ts), whose stalls (a turn
 * 50 ms late or more) split into CPU on the main thread (`runMs`, what execd held), time runnable
 * without a core (`waitMs`, the machine's load) and time asleep (`asleepMs`: a blocking call).
 * Not run by `make bench`: `bun run bench/cells-ping.ts [rounds=3]`; BENCH_CELLS_PING_COLD=1 gives
 * the daemon a fresh TMPDIR, so its first go build starts from an empty build cache.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readSse } from '../spec/harness'
import { startExecd, type Execd } from './lib/execd'
import { stallsOf, type Stall } from './lib/loop-stalls'
import { pingWaits } from './lib/ping-waits'
import { makeTempDir, removeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 3)
const GAP_MS = 20
/** A cgo build: os/user's lookups are C's (getpwuid_r) when gcc is there; BENCH_CELLS_PING_GO another cell. */
const GO_CELL =
  process.env.BENCH_CELLS_PING_GO ?? 'import "os/user"\nu, err := user.Current()\nfmt.Println(u.Username, err)'

async function context(d: Execd, language: string): Promise<string> {
  const res = await d.post('/code/context', { language })
  if (res.status !== 200) throw new Error(`${language} context: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

async function cell(d: Execd, id: string, language: string, code: string): Promise<void> {
  const frames = await readSse(await d.post('/code', { code, context: { id, language } }))
  if (process.env.BENCH_CELLS_PING_SHOW) console.log(language, JSON.stringify(frames).slice(0, 600))
}

/** Interrupts `id` after 1 s, then every 0.5 s until `done` settles. */
async function interruptUntil(d: Execd, id: string, done: Promise<unknown>): Promise<void> {
  let over = false
  void done.finally(() => (over = true))
  await Bun.sleep(1000)
  while (!over) {
    await (await d.fetch(`/code?id=${id}`, { method: 'DELETE' })).arrayBuffer()
    await Promise.race([done, Bun.sleep(500)])
  }
}

async function main(): Promise<void> {
  const logs = makeTempDir('cells-ping-')
  const lag = join(logs, 'lag.jsonl')
  // A TMPDIR of its own: the go build cache (under it) starts cold, cgo's runtime compiled by gcc.
  const cold: Record<string, string> = process.env.BENCH_CELLS_PING_COLD
    ? { TMPDIR: makeTempDir('cells-ping-tmp-') }
    : {}
  const d = await startExecd({ env: { EXECD_LOOP_LAG_LOG: lag, ...cold } })
  const waits: number[] = []
  // Where the main thread sleeps in a system call 50 ms or more (bench/loop-watch.ts).
  const blocked = join(logs, 'blocked.jsonl')
  const watch = Bun.spawn([process.execPath, join(import.meta.dir, 'loop-watch.ts'), String(d.pid), blocked])
  try {
    for (let r = 0; r < rounds; r++) {
      const [go, java] = await Promise.all([context(d, 'go'), context(d, 'java')])
      const t0 = performance.now()
      const got = await pingWaits(
        d,
        async () => {
          const javaCell = cell(d, java, 'java', 'while (true) {}')
          await Promise.all([cell(d, go, 'go', GO_CELL), javaCell, interruptUntil(d, java, javaCell)])
        },
        GAP_MS,
      )
      waits.push(...got)
      console.log(`  round ${r + 1}: ${(performance.now() - t0).toFixed(0)} ms, ${got.length} pings`)
      for (const id of [go, java]) await (await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).arrayBuffer()
    }
  } finally {
    watch.kill()
    await watch.exited
    await d.stop()
  }
  const stalls = stallsOf(lag)
  const calls = existsSync(blocked) ? readFileSync(blocked, 'utf8').split('\n').filter(Boolean) : []
  removeTempDir(logs)
  if (cold.TMPDIR) await Bun.$`chmod -R u+w ${cold.TMPDIR}; rm -rf ${cold.TMPDIR}`.quiet().nothrow()
  const most = (key: keyof Stall) => Math.max(0, ...stalls.map(s => s[key] as number))
  console.log(
    `\n/ping every ${GAP_MS} ms beside a cgo cell and an interrupted java cell, ${rounds} rounds:` +
      ` max ${Math.max(...waits).toFixed(0)} ms, p99 ${percentile(waits, 0.99).toFixed(0)} ms, n=${waits.length}`,
  )
  console.log(
    `  ${stalls.length} stalls of the loop; longest ${most('lagMs')} ms late;` +
      ` at most ${most('runMs')} ms on a CPU, ${most('waitMs')} ms runnable without one, ${most('asleepMs')} ms asleep`,
  )
  const show = (s: Stall) => console.log(`    ${JSON.stringify({ ...s, recent: s.recent.slice(-3) })}`)
  console.log('  the latest turns:')
  stalls
    .toSorted((a, b) => b.lagMs - a.lagMs)
    .slice(0, 3)
    .forEach(show)
  console.log('  the most CPU in one:')
  stalls
    .toSorted((a, b) => b.runMs - a.runMs)
    .slice(0, 3)
    .forEach(show)
  console.log('  the longest asleep:')
  stalls
    .toSorted((a, b) => b.asleepMs - a.asleepMs)
    .slice(0, 2)
    .forEach(show)
  console.log(`  ${calls.length} system calls of 50 ms or more on the main thread (bench/loop-watch.ts):`)
  for (const line of calls.slice(0, 5)) console.log(`    ${line.slice(0, 300)}`)
}

await runThenClean(main)
