/**
 * Row 7d alone, with what each start cost: spawn → the first 200 from `/ping` (1 ms polls, as
 * row 7), and at that answer the process's CPU (every thread, exited ones included), its main
 * thread's, its minor and major page faults and its RSS — for each build and for row 7's
 * minimal compiled `Bun.serve` (baselines/bun-serve.ts), taking turns (order rotating). Not run
 * by `make bench`.
 *
 *   bun run bench/start-cpu.ts [rounds=30]
 *   BENCH_BUILDS='main=/tmp/execd-old,new=dist/execd'   builds (default dist/execd)
 *   BENCH_START_PAGES=asis|recache|drop   before each round, every executable's pages: left as
 *     they are (asis, the default), dropped and read whole again (recache: all alike), or
 *     dropped (drop: a start from the disk)
 */
import { readFileSync } from 'node:fs'
import { buildBunServe, startBunServe } from './baselines/bun-serve'
import { EXECD_BIN, startExecd } from './lib/execd'
import { dropPages, recache } from './lib/page-cache'
import { runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 30)
const pages = process.env.BENCH_START_PAGES ?? 'asis'
if (!['asis', 'recache', 'drop'].includes(pages))
  throw new Error(`BENCH_START_PAGES: asis, recache or drop, not ${pages}`)

interface Side {
  name: string
  bin: string
  start(): Promise<{ pid: number; startMs: number; stop(): Promise<void> }>
}

interface Sample {
  wall: number
  cpu: number
  main: number
  minflt: number
  majflt: number
  rss: number
}

/** What the process has cost so far, read at its first /ping answer. */
function costs(pid: number, wall: number): Sample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const { all, main } = threadCpuMs(pid)
  return {
    wall,
    cpu: all,
    main,
    minflt: Number(f[7]),
    majflt: Number(f[9]),
    rss: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024,
  }
}

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 1) =>
  `${percentile(xs, 0.5).toFixed(digits)} (p25 ${percentile(xs, 0.25).toFixed(digits)}, p75 ${percentile(xs, 0.75).toFixed(digits)})`

async function main(): Promise<void> {
  const bare = await buildBunServe()
  const builds = (process.env.BENCH_BUILDS ?? `execd=${EXECD_BIN}`).split(',').map(spec => {
    const [name, bin] = spec.split('=') as [string, string]
    return { name, bin }
  })
  const sides: Side[] = [
    { name: 'bunserve', bin: bare, start: () => startBunServe(bare) },
    ...builds.map(b => ({ name: b.name, bin: b.bin, start: () => startExecd({ bin: b.bin }) })),
  ]
  const samples = new Map(sides.map(s => [s.name, [] as Sample[]]))
  const loads: number[] = []
  console.log(`${rounds} rounds, pages ${pages}; one untimed start each first`)
  for (const s of sides) await (await s.start()).stop()
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    if (pages === 'recache') for (const s of sides) recache(s.bin)
    if (pages === 'drop') for (const s of sides) dropPages(s.bin)
    const order = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]
    const line: string[] = []
    for (const s of order) {
      const d = await s.start()
      const c = costs(d.pid, d.startMs)
      await d.stop()
      samples.get(s.name)!.push(c)
      line.push(`${s.name} ${c.wall.toFixed(1)} ms cpu ${c.cpu.toFixed(1)} flt ${c.minflt}/${c.majflt}`)
    }
    console.log(line.join(' | '))
  }
  console.log(`\nmedian (p25, p75) over ${rounds} rounds; load average ${range(loads)}`)
  const floor = percentile(
    samples.get('bunserve')!.map(s => s.wall),
    0.5,
  )
  for (const [name, xs] of samples) {
    const of = (k: keyof Sample) => range(xs.map(x => x[k]))
    const wall = percentile(
      xs.map(x => x.wall),
      0.5,
    )
    console.log(
      `${name.padEnd(10)} wall ${of('wall')} ms (${(wall / floor).toFixed(2)}×)  cpu ${of('cpu')}  main ${of('main')}  minflt ${of('minflt')}  majflt ${of('majflt')}  rss ${of('rss')} MiB`,
    )
  }
}

await runThenClean(main)
