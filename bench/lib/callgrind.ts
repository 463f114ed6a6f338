/**
 * Instructions per request, counted by callgrind on a running server (bench/request-instructions.ts,
 * bench/command-instructions.ts): the server runs under `valgrind --tool=callgrind` with counting
 * off while it warms up, then on for the counted requests after a few hundred more (the
 * instrumented code's translation); counts are read per thread from the dump. Needs valgrind
 * (vgdb switches the counting).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { hasExecutable, makeTempDir, spawnTracked } from './procs'

/**
 * Instrumented requests before counting: valgrind translates the code it now instruments.
 * BENCH_SETTLE for fewer where each request is slow under valgrind (a spawn is a full fork there).
 */
export const SETTLE = Number(process.env.BENCH_SETTLE ?? 300)

/**
 * The dir callgrind's dumps go to, once valgrind and vgdb are found; with `jitDump`, where
 * JavaScriptCore names the code it makes in a jitdump file too (inherited by the servers started
 * after).
 */
export function callgrindDir(jitDump = false): string {
  if (!hasExecutable('valgrind') || !hasExecutable('vgdb')) throw new Error('needs valgrind and vgdb')
  const dir = makeTempDir('callgrind')
  if (jitDump) {
    process.env.BUN_JSC_useJITDump = '1'
    process.env.BUN_JSC_jitDumpDirectory = dir
  }
  return dir
}

/** `valgrind --tool=callgrind …` writing its dumps into `dir`, counting off until asked. */
export const callgrindLauncher = (dir: string, extra: string[] = []): string[] => [
  'valgrind',
  '--tool=callgrind',
  '--instr-atstart=no',
  '--separate-threads=yes',
  ...extra,
  `--callgrind-out-file=${join(dir, 'cg.%p')}`,
]

/** A callgrind monitor command to the server (`instrumentation on`, `zero`, `dump <hint>`). */
async function monitor(pid: number, ...command: string[]): Promise<void> {
  const p = spawnTracked(['vgdb', `--pid=${pid}`, ...command], { stdout: 'ignore', stderr: 'ignore' })
  if ((await p.exited) !== 0) throw new Error(`vgdb --pid=${pid} ${command.join(' ')} failed`)
}

/** Instructions of the newest dump of `pid`: its main thread's, and all its threads'. */
function lastDump(dir: string, pid: number): { main: number; all: number; threads: Map<string, number> } {
  const files = readdirSync(dir).filter(f => f.startsWith(`cg.${pid}.`))
  const part = Math.max(...files.map(f => Number(f.slice(`cg.${pid}.`.length).split('-')[0])))
  let main = 0
  let all = 0
  const threads = new Map<string, number>()
  for (const f of files.filter(f => f.startsWith(`cg.${pid}.${part}-`))) {
    const m = /^summary: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))
    const n = Number(m?.[1] ?? 0)
    all += n
    threads.set(f.slice(f.lastIndexOf('-') + 1), n)
    if (f.endsWith('-01')) main = n
  }
  return { main, all, threads }
}

export interface Counted {
  /** The main thread's instructions per request. */
  main: number
  /** Every thread's. */
  all: number
  /** The busy threads besides the main one (JIT compilers, the collector's helpers), per request. */
  others: string
  /** How long the counted requests took, ms (under valgrind). */
  ms: number
}

/** Counts `requests` of `one` on the server `pid` after SETTLE instrumented ones; per request. */
export async function countRequests(
  dir: string,
  pid: number,
  requests: number,
  one: () => Promise<void>,
): Promise<Counted> {
  await monitor(pid, 'instrumentation', 'on')
  for (let i = 0; i < SETTLE; i++) await one()
  await monitor(pid, 'zero')
  const began = performance.now()
  for (let i = 0; i < requests; i++) await one()
  const ms = performance.now() - began
  await monitor(pid, 'dump')
  await monitor(pid, 'instrumentation', 'off')
  const d = lastDump(dir, pid)
  const others = [...d.threads]
    .filter(([t, n]) => t !== '01' && n / requests >= 500)
    .map(([t, n]) => `t${t} ${Math.round(n / requests)}`)
    .join(', ')
  return { main: d.main / requests, all: d.all / requests, others, ms }
}

/**
 * What `pid` executes with nothing asked of it for `ms` (its timers: the loop-lag probe, the
 * reaper's sweep, the metrics sampler…), per `per`: under valgrind a request that forks takes
 * ~100× as long, so a count over requests holds ~100× the timers' share; this is that share.
 */
export async function countIdle(dir: string, pid: number, ms: number, per: number): Promise<Counted> {
  const d = await countWindow(dir, pid, () => Bun.sleep(ms))
  return { main: d.main / per, all: d.all / per, others: '', ms }
}

/** Instructions of `pid` while `run` runs (its main thread's, all its threads'), whatever it does. */
export async function countWindow(
  dir: string,
  pid: number,
  run: () => Promise<unknown>,
): Promise<{ main: number; all: number; threads: Map<string, number> }> {
  await monitor(pid, 'instrumentation', 'on')
  await monitor(pid, 'zero')
  await run()
  await monitor(pid, 'dump')
  await monitor(pid, 'instrumentation', 'off')
  return lastDump(dir, pid)
}
