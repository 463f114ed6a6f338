/**
 * What the hidden step of `serve -- <command>` (cmd/main-exec.ts: execd run again, PDEATHSIG,
 * execve) adds to the main process's start: `true` spawned as startMain spawned it before, and
 * through the step, taking turns, from spawn to exit. Not run by `make bench`.
 *
 *   bun run bench/main-exec.ts [runs=40]      EXECD_BIN=... for another build
 */
import { EXECD_BIN } from './lib/execd'
import { percentile } from './lib/stats'

const runs = Number(process.argv[2] ?? 40)
const ways: Record<string, string[]> = {
  direct: ['true'],
  'main-exec': [EXECD_BIN, '__exec-main', String(process.pid), '--', 'true'],
}
const times: Record<string, number[]> = { direct: [], 'main-exec': [] }
for (let i = 0; i < runs; i++) {
  for (const name of i % 2 ? ['direct', 'main-exec'] : ['main-exec', 'direct']) {
    const t0 = performance.now()
    const proc = Bun.spawn(ways[name]!, { stdio: ['ignore', 'inherit', 'inherit'] })
    if ((await proc.exited) !== 0) throw new Error(`${name}: exited ${proc.exitCode}`)
    times[name]!.push(performance.now() - t0)
  }
}
for (const [name, list] of Object.entries(times))
  console.log(
    `${name.padEnd(10)} median ${percentile(list, 0.5).toFixed(2)} ms  p90 ${percentile(list, 0.9).toFixed(2)} ms`,
  )
