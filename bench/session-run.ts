/**
 * Wall time, execd's CPU and the shell's CPU per session run (`:` to execution_complete), in
 * rounds that take turns between two builds, so the machine's load hits both alike: what the line
 * around each run costs (core/live-bash/frame.ts, the FIFO each run's line names:
 * command-stream.ts). Not run by `make bench`.
 *
 *   bun run bench/session-run.ts [rounds=8] [runs per round=200]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 */
import { type Execd, startExecd } from './lib/execd'
import { readSse } from '../spec/harness'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 8)
const perRound = Number(process.argv[3] ?? 200)

interface Side {
  name: string
  d: Execd
  sid: string
  bash: number
  wall: number[]
  cpu: number[]
  execd: number[]
}

async function open(name: string, bin?: string): Promise<Side> {
  const d = await startExecd({ bin })
  const sid = (await (await d.post('/session', {})).json()).session_id as string
  const out = (await run(d, sid, 'echo $$')).find(f => f.data.type === 'stdout')
  const bash = Number(out?.data.text)
  if (!bash) throw new Error(`${name}: no shell pid`)
  return { name, d, sid, bash, wall: [], cpu: [], execd: [] }
}

async function run(d: Execd, sid: string, command: string) {
  const frames = await readSse(await d.post(`/session/${sid}/run`, { command }))
  if (frames.at(-1)?.data.type !== 'execution_complete') throw new Error(JSON.stringify(frames.at(-1)))
  return frames
}

async function round(s: Side): Promise<void> {
  // The process CPU clocks (ns): /proc/<pid>/stat's 10 ms ticks were a few a round.
  const cpu0 = threadCpuMs(s.bash).all
  const execd0 = threadCpuMs(s.d.pid).all
  const t0 = performance.now()
  for (let i = 0; i < perRound; i++) await run(s.d, s.sid, ':')
  s.wall.push(((performance.now() - t0) * 1000) / perRound)
  s.cpu.push(((threadCpuMs(s.bash).all - cpu0) * 1e3) / perRound)
  s.execd.push(((threadCpuMs(s.d.pid).all - execd0) * 1e3) / perRound)
}

async function main(): Promise<void> {
  const sides = [await open('new')]
  if (process.env.BENCH_EXECD_BEFORE) sides.push(await open('before', process.env.BENCH_EXECD_BEFORE))
  try {
    for (const s of sides) for (let i = 0; i < 20; i++) await run(s.d, s.sid, ':')
    for (let r = 0; r < rounds; r++) for (const s of r % 2 ? [...sides].reverse() : sides) await round(s)
    for (const s of sides) {
      const med = (xs: number[]) => percentile(xs, 0.5).toFixed(0)
      console.log(
        `${s.name}: wall ${med(s.wall)} µs/run, execd CPU ${med(s.execd)}, bash CPU ${med(s.cpu)} µs/run (medians of ${rounds} rounds)`,
      )
    }
    if (sides.length === 2) {
      const ratio = (k: 'wall' | 'cpu' | 'execd') =>
        (percentile(sides[0]![k], 0.5) / percentile(sides[1]![k], 0.5)).toFixed(2)
      console.log(`new/before: wall ${ratio('wall')}, execd CPU ${ratio('execd')}, bash CPU ${ratio('cpu')}`)
    }
  } finally {
    for (const s of sides) await s.d.stop()
  }
}

await runThenClean(main)
