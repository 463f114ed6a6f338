/**
 * The `--cgroups off` settle pass (core/process.ts) both ways in one run, from the source: the
 * whole /proc (core/proc-scan.ts: every process's stat and environ) against execd's tree
 * (core/descendant-scan.ts), with `outside` sleeps this process does not own (started under
 * setsid by a shell that exits before this process becomes a subreaper) and `inside` of its own.
 * Per pass, the wall time's median and the CPU of this process, sides taking turns. Not run by
 * `make bench`.
 *
 *   bun run bench/settle-pass.ts [outside=2000] [inside=10] [rounds=3]
 */
import { scanDescendants } from '../core/descendant-scan'
import { createLogger } from '../core/log'
import { scanProcs } from '../core/proc-scan'
import { adoptOrphans } from '../core/reaper'

const outside = Number(process.argv[2] ?? 2000)
const inside = Number(process.argv[3] ?? 10)
const rounds = Number(process.argv[4] ?? 3)
const PASSES = 10
const KEY = 'EXECD_OWNER'

const started = Bun.spawnSync([
  'sh',
  '-c',
  `for i in $(seq ${outside}); do setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!; done`,
])
const strangers = started.stdout.toString().split('\n').filter(Boolean).map(Number)
const stopAdopting = adoptOrphans(() => false, createLogger('silent'))
const own = Array.from({ length: inside }, () =>
  Bun.spawn(['sleep', '600'], { env: { [KEY]: 'bench.1', PATH: process.env.PATH ?? '/usr/bin:/bin' } }),
)

async function side(pass: () => Promise<unknown[] | undefined>): Promise<{ wall: number; cpu: number; seen: number }> {
  const before = process.cpuUsage()
  const walls: number[] = []
  let seen = 0
  for (let i = 0; i < PASSES; i++) {
    const t = performance.now()
    seen = (await pass())?.length ?? -1
    walls.push(performance.now() - t)
  }
  const cpu = process.cpuUsage(before)
  walls.sort((a, b) => a - b)
  return { wall: walls[PASSES >> 1]!, cpu: (cpu.user + cpu.system) / 1000 / PASSES, seen }
}

try {
  await Bun.sleep(500)
  for (let r = 1; r <= rounds; r++) {
    const whole = await side(() => scanProcs(KEY))
    const tree = await side(() => scanDescendants(KEY))
    const fmt = (s: { wall: number; cpu: number; seen: number }) =>
      `${s.seen} processes, ${s.wall.toFixed(1)} ms wall, ${s.cpu.toFixed(1)} ms CPU`
    console.log(
      `round ${r}: whole /proc ${fmt(whole)}; tree ${fmt(tree)}; CPU ratio ${(tree.cpu / whole.cpu).toFixed(3)}`,
    )
  }
} finally {
  for (const p of own) p.kill('SIGKILL')
  for (const pid of strangers) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  stopAdopting()
}
