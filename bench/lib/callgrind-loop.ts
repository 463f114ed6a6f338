/**
 * One call's instructions in plain bun, by difference: callgrind counts a script's whole run
 * (its main thread) with `few` and with `many` calls of what it loops over, and the difference
 * over their count is one call's. The script runs its loop when it finds `BENCH_ONE="<what> <n>"`
 * in its environment (bench/execution-start.ts, bench/body-read.ts).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { spawnTracked } from './procs'

/** The main thread's instructions of one run: JSC's compiler threads vary run to run. */
async function counted(script: string, what: string, n: number): Promise<number> {
  const out = join(process.env.TMPDIR ?? '/tmp', `callgrind-loop.${process.pid}.cg`)
  const p = spawnTracked(
    ['valgrind', '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, script],
    { env: { ...process.env, BENCH_ONE: `${what} ${n}` }, stdout: 'ignore', stderr: 'ignore' },
  )
  await p.exited
  const dumps = readdirSync(dirname(out)).filter(f => f.startsWith(`${basename(out)}-`))
  const main = dumps.find(f => f.endsWith('-01'))
  const m = main && /^summary: (\d+)/m.exec(readFileSync(join(dirname(out), main), 'utf8'))
  for (const f of dumps) rmSync(join(dirname(out), f))
  rmSync(out, { force: true })
  if (!m) throw new Error(`no main-thread count from callgrind for ${what} ${n}`)
  return Number(m[1])
}

/** Instructions of one call of `what` in `script`: (count at `many` − count at `few`) / (many − few). */
export async function perCall(script: string, what: string, many: number, few: number): Promise<number> {
  return ((await counted(script, what, many)) - (await counted(script, what, few))) / (many - few)
}
