/**
 * What `Bun.spawn` does before its first system call, and what each of execd's options adds:
 * a child Bun writes one byte to a marker file just before each spawn of `bash -c true` (stdin
 * a /dev/null descriptor, stdout and stderr piped, its own session, as execd spawns), and
 * `perf record` of that child's system calls times the marker → the spawn's first call (its
 * preparation, all in user space) and the marker → the clone (with what the runtime checks by
 * system calls first: for a `cgroup`, the leaf's files). Variants take turns by round:
 * plain; with `cwd`; with `cgroup` (a leaf made for it under the cgroup v2 mount, removed
 * after); with the environment spread anew per spawn (`{ ...process.env, marker }`, as
 * core/process.ts builds it). Medians per round, µs. Needs perf, root, and for the cgroup
 * variant a writable cgroup v2.
 *
 *   bun run bench/spawn-prep.ts [spawns per variant and round=200] [rounds=4]
 */
import { mkdirSync, openSync, readFileSync, rmdirSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { makeTempDir, runThenClean, spawnTracked } from './lib/procs'
import { syscallEvents } from './lib/syscall-timeline'

const isChild = process.argv[2] === 'child'
const perVariant = Number((isChild ? process.argv[5] : process.argv[2]) ?? 200)
const rounds = Number((isChild ? process.argv[6] : process.argv[3]) ?? 4)
const VARIANTS = ['plain', 'cwd', 'cgroup', 'env spread'] as const

/** The child: spawns in rounds, a marker write (one byte: the variant's index) before each. */
async function child(markerPath: string, leafDir: string): Promise<void> {
  const marker = openSync(markerPath, 'w')
  const devNull = openSync('/dev/null', 'r')
  let cgroup: number | undefined
  try {
    mkdirSync(leafDir)
    cgroup = openSync(leafDir, 'r')
  } catch {}
  const env = { ...process.env, EXECD_OWNER: 'prep.1' }
  const argv = ['/bin/bash', '-c', 'true']
  const base = { stdio: [devNull, 'pipe', 'pipe'] as [number, 'pipe', 'pipe'], detached: true }
  const spawns: Array<() => ReturnType<typeof Bun.spawn> | undefined> = [
    () => Bun.spawn(argv, { ...base, env }),
    () => Bun.spawn(argv, { ...base, env, cwd: process.cwd() }),
    () =>
      cgroup === undefined ? undefined : Bun.spawn(argv, { ...base, env, cgroup } as Parameters<typeof Bun.spawn>[1]),
    () => Bun.spawn(argv, { ...base, env: { ...process.env, EXECD_OWNER: 'prep.2' } }),
  ]
  const one = async (v: number, mark: boolean) => {
    if (mark) writeSync(marker, String(v))
    const p = spawns[v]!()
    if (!p) return
    await Promise.all([
      new Response(p.stdout as ReadableStream).arrayBuffer(),
      new Response(p.stderr as ReadableStream).arrayBuffer(),
      p.exited,
    ])
  }
  for (let i = 0; i < 300; i++) for (let v = 0; v < spawns.length; v++) await one(v, false)
  process.stdout.write('ready\n')
  // the parent starts perf now; give it time to attach
  await new Promise<void>(r => process.stdin.once('data', () => r()))
  for (let r = 0; r < rounds; r++)
    for (let v = 0; v < spawns.length; v++)
      for (let i = 0; i < perVariant; i++) {
        await one(v, true)
        await Bun.sleep(1)
      }
  if (cgroup !== undefined) rmdirSync(leafDir)
  process.stdout.write('done\n')
  process.exit(0)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN

async function main(): Promise<void> {
  if (!Bun.which('perf')) throw new Error('perf is not installed')
  const dir = makeTempDir('spawnprep')
  const markerPath = join(dir, 'marker')
  const leaf = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map(l => l.split(' '))
    .find(f => f[2] === 'cgroup2')?.[1]
  const leafDir = leaf ? join(leaf, `bench-spawn-prep-${process.pid}`) : '/nonexistent'
  const kid = Bun.spawn(
    [process.execPath, import.meta.path, 'child', markerPath, leafDir, String(perVariant), String(rounds)],
    {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'inherit',
    },
  )
  const reader = (kid.stdout as ReadableStream<Uint8Array>).getReader()
  const lines = async (want: string) => {
    let buf = ''
    while (!buf.includes(want)) {
      const { value, done } = await reader.read()
      if (done) throw new Error('spawn-prep child exited')
      buf += new TextDecoder().decode(value)
    }
  }
  await lines('ready')
  const data = join(dir, 'perf.data')
  const filter = `common_pid == ${kid.pid}`
  const perf = spawnTracked(['perf', 'record', '-a', '-q', '-o', data, ...syscallEvents(filter)], {
    stdout: 'ignore',
    stderr: 'pipe',
  })
  await Bun.sleep(800)
  kid.stdin.write('go\n')
  kid.stdin.flush()
  await lines('done')
  await kid.exited
  perf.kill('SIGINT')
  await perf.exited
  const text = Bun.spawnSync(['perf', 'script', '-i', data, '-F', 'time,event,trace'], {
    maxBuffer: 1 << 30,
  }).stdout.toString()
  // marker writes are write(fd, buf, 1); the clone is clone3 (a cgroup) or vfork
  const events = text
    .split('\n')
    .map(l =>
      /^\s*([\d.]+):\s+raw_syscalls:(sys_enter|sys_exit):\s*NR (\d+)(?: \(([0-9a-f]+), [0-9a-f]+, ([0-9a-f]+))?/.exec(
        l,
      ),
    )
    .filter((m): m is RegExpExecArray => m !== null)
    .map(m => ({ t: Number(m[1]) * 1e6, enter: m[2] === 'sys_enter', nr: Number(m[3]), fd: m[4], count: m[5] }))
  const markerFd = events.find(e => e.enter && e.nr === 1 && e.count === '1')?.fd
  const rows: number[][][] = VARIANTS.map(() => [])
  const toClone: number[][][] = VARIANTS.map(() => [])
  let k = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (!(e.enter && e.nr === 1 && e.fd === markerFd)) continue
    const exit = events.slice(i + 1).find(x => !x.enter)
    const next = events.slice(i + 2).find(x => x.enter)
    const clone = events.slice(i + 2).find(x => x.enter && (x.nr === 435 || x.nr === 58 || x.nr === 56))
    const block = Math.floor(k / perVariant)
    const [round, variant] = [Math.floor(block / VARIANTS.length), block % VARIANTS.length]
    k++
    if (!exit || !next || !clone) continue
    ;(rows[variant]![round] ??= []).push(next.t - exit.t)
    ;(toClone[variant]![round] ??= []).push(clone.t - exit.t)
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  console.log(`Bun.spawn of bash -c true, ${perVariant} per variant and round, ${rounds} rounds; load average ${load}`)
  console.log(
    "µs from the marker: to the spawn's first system call (its preparation) / to the clone; medians per round",
  )
  VARIANTS.forEach((v, i) => {
    const a = rows[i]!.map(median)
    const b = toClone[i]!.map(median)
    if (!a.length) return console.log(`  ${v.padEnd(11)} not run (no cgroup v2 leaf could be made)`)
    console.log(
      `  ${v.padEnd(11)} ${a.map(x => x.toFixed(0).padStart(4)).join(' ')}   /  ${b.map(x => x.toFixed(0).padStart(4)).join(' ')}`,
    )
  })
}

if (isChild) await child(process.argv[3]!, process.argv[4]!)
else await runThenClean(main)
