/**
 * execd's CPU per MiB of a command's stdout flood read through `POST /command` (row 4a's
 * command, 1 KiB lines) — or, with BENCH_FLOOD, the same command in a bash session (`session`:
 * `POST /session/{id}/run`), in an isolated session (`isolated`: `POST /v1/isolated/session/{id}/run`,
 * a throwaway rw workspace) or in a bash code context (`bash`), or a python cell printing 1 KiB
 * lines (`python`) — in rounds taking turns between builds and a plain pipe read by this
 * process: CPU per MiB (all threads, from the process's CPU clock; the main thread from
 * schedstat) moves far less with the machine's load than the rate, which is given beside the
 * pipe's rate of the same round. The writer's CPU per MiB beside it: the shell's `times` of its
 * children after the flood (the python cell's own `os.times()`), what the output's channel costs
 * the side that writes into it. Not run by `make bench`.
 *
 *   bun run bench/flood-cpu.ts [rounds=8] [MiB per flood=256]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 *                                       (a:b:c: more builds, named after their files)
 *   BENCH_FLOOD=command|session|isolated|bash|python   what floods (command)
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { makeTempDir, runThenClean, spawnTracked } from './lib/procs'
import { drainCounting } from './lib/sse'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'
import { floodCommand } from './rows/r4-output-throughput'

const rounds = Number(process.argv[2] ?? 8)
const mib = Number(process.argv[3] ?? 256)
const bytes = mib * 1024 * 1024
const kind = process.env.BENCH_FLOOD ?? 'command'
if (!['command', 'session', 'isolated', 'bash', 'python'].includes(kind))
  throw new Error(`BENCH_FLOOD=${kind}: not a flood`)
/**
 * The flood, then the CPU its writers took (`times`' second line: the shell's reaped children,
 * user and system) on a line of its own. A session's shell counts every run's, so its line before
 * the flood is kept in a file (a builtin's redirection and `read`: a `$(…)` is a fork, whose
 * `times` starts from nothing) and printed before the one after it.
 */
const command =
  kind === 'command'
    ? `${floodCommand(bytes)}; times`
    : `times > /tmp/execd-flood-times; ${floodCommand(bytes)}; ` +
      `{ read -r _; read -r t0; } < /tmp/execd-flood-times; echo "$t0"; times`
/**
 * The same 1 KiB lines from python's own print, and the cell's own CPU after them. BENCH_PYLINE
 * changes the shape: <n> prints lines of n bytes (112: a number and 100 x's, as `print(i, 'x' *
 * 100)`), `write` writes 1 MiB strings of 1 KiB lines at once, `nonl` 64 KiB strings without a newline.
 */
const pyLine = process.env.BENCH_PYLINE ?? '1024'
const pythonWrites =
  pyLine === 'write'
    ? `import sys\nblock = ('0' * 1023 + '\\n') * 1024\nfor _ in range(${bytes >> 20}): sys.stdout.write(block)\n`
    : pyLine === 'nonl'
      ? `import sys\nblock = '0' * 65536\nfor _ in range(${bytes >> 16}): sys.stdout.write(block)\nprint()\n`
      : `line = '0' * ${Number(pyLine) - 1}\nfor _ in range(${Math.floor(bytes / Number(pyLine))}): print(line)\n`
const pythonFlood = `import os\nt = os.times()\n${pythonWrites}u = os.times()\nprint('writer', u.user - t.user + u.system - t.system)`

/** The writer's CPU seconds from a flood's tail (see `command`, `pythonFlood`). */
function writerSeconds(tail: string): number {
  const text = tail.replace(/\\n/g, '\n')
  const py = /writer ([\d.e-]+)/.exec(text)
  if (py) return Number(py[1])
  // `times` prints each pair as `0m1.234s 0m0.567s` (user, system).
  const pairs = [...text.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].map(
    m => Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]),
  )
  // command: shell, children; a session: children before, then shell, children after.
  if (kind === 'command') return pairs[1] ?? NaN
  return (pairs[2] ?? NaN) - (pairs[0] ?? NaN)
}

/** Where a daemon's floods run: its session or code context, made once (its warm-up flood's). */
const places = new WeakMap<Execd, string>()

async function place(d: Execd): Promise<string> {
  let id = places.get(d)
  if (id) return id
  const made =
    kind === 'session'
      ? await d.post('/session', {})
      : kind === 'isolated'
        ? await d.post('/v1/isolated/session', {
            workspace: { path: makeTempDir('flood'), mode: 'rw' },
            idle_timeout_seconds: 0,
          })
        : await d.post('/code/context', { language: kind === 'bash' ? 'bash' : 'python' })
  if (made.status !== 200 && made.status !== 201)
    throw new Error(`making the ${kind} place: ${made.status} ${await made.text()}`)
  const body = (await made.json()) as { session_id?: string; id?: string }
  id = body.session_id ?? body.id ?? ''
  places.set(d, id)
  return id
}

async function start(d: Execd): Promise<Response> {
  if (kind === 'command') return d.post('/command', { command })
  const id = await place(d)
  if (kind === 'session') return d.post(`/session/${id}/run`, { command })
  if (kind === 'isolated') return d.post(`/v1/isolated/session/${id}/run`, { code: command })
  const code = kind === 'python' ? pythonFlood : command
  return d.post('/code', { code, context: { id, language: kind } })
}

interface Round {
  rate: number
  /** CPU ms per MiB: all threads, the main thread. */
  all: number
  main: number
  /** Peak RSS (MiB) seen while it ran. */
  peak: number
  /** The writer's CPU ms per MiB. */
  writer: number
  /** Syscalls per MiB (all threads), by name (TRACED). */
  calls: Record<string, number>
}

/** The syscalls counted per flood (perf's tracepoints): its reads, log writes, sends, wake-ups. */
const TRACED = ['recvfrom', 'write', 'sendmsg', 'sendto', 'epoll_pwait2'] as const

/**
 * Counts `pid`'s syscalls until the returned stop() (`perf stat` on the syscall tracepoints, all
 * threads): an empty count where perf cannot (BENCH_SYSCALLS=0 to not try).
 */
function countSyscalls(pid: number): () => Promise<Record<string, number>> {
  if (process.env.BENCH_SYSCALLS === '0' || !Bun.which('perf')) return async () => ({})
  const events = TRACED.map(n => `syscalls:sys_enter_${n}`).join(',')
  const perf = Bun.spawn(['perf', 'stat', '--no-inherit', '-x', ',', '-e', events, '-p', String(pid)], {
    stderr: 'pipe',
  })
  return async () => {
    perf.kill('SIGINT')
    const text = await new Response(perf.stderr).text()
    await perf.exited
    const counts: Record<string, number> = {}
    for (const line of text.split('\n')) {
      const [n, , event] = line.split(',')
      const name = event?.replace('syscalls:sys_enter_', '')
      if (name && Number.isFinite(Number(n))) counts[name] = Number(n)
    }
    return counts
  }
}

const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024

async function flood(d: Execd): Promise<Round> {
  let peak = rssMiB(d.pid)
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(d.pid))), 50)
  const before = threadCpuMs(d.pid)
  const stopCounting = countSyscalls(d.pid)
  // perf attaches before the flood starts
  await Bun.sleep(100)
  const t0 = performance.now()
  const res = await start(d)
  if (res.status !== 200) throw new Error(`${kind} flood: ${res.status} ${await res.text()}`)
  const { bytes: wire, tail } = await drainCounting(res)
  const secs = (performance.now() - t0) / 1000
  clearInterval(timer)
  const after = threadCpuMs(d.pid)
  const calls = await stopCounting()
  for (const k of Object.keys(calls)) calls[k]! /= mib
  if (!tail.includes('"type":"execution_complete"')) throw new Error(`flood did not complete: …${tail.slice(-300)}`)
  if (wire < bytes) throw new Error(`flood: ${wire} bytes on the wire for ${bytes} of output`)
  return {
    rate: mib / secs,
    all: (after.all - before.all) / mib,
    main: (after.main - before.main) / mib,
    peak,
    writer: (writerSeconds(tail) * 1000) / mib,
    calls,
  }
}

async function pipe(): Promise<number> {
  const t0 = performance.now()
  const proc = spawnTracked(['bash', '-c', floodCommand(bytes)], { stdout: 'pipe' })
  const { bytes: got } = await drainCounting(new Response(proc.stdout as ReadableStream<Uint8Array>))
  await proc.exited
  if (got !== bytes) throw new Error(`pipe: read ${got} of ${bytes} bytes`)
  return mib / ((performance.now() - t0) / 1000)
}

const callText = (calls: Record<string, number>) =>
  TRACED.filter(n => n in calls)
    .map(n => `${n} ${calls[n]!.toFixed(1)}`)
    .join(' ')

const load = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const range = (xs: number[], digits = 2) =>
  `${percentile(xs, 0.5).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

async function main(): Promise<void> {
  const daemons: [string, Execd][] = [['execd', await startExecd()]]
  // Several older builds, colon-separated: the first is 'before', the others are named by file.
  const others = (process.env.BENCH_EXECD_BEFORE ?? '').split(':').filter(Boolean)
  for (const [i, bin] of others.entries()) daemons.push([i === 0 ? 'before' : basename(bin), await startExecd({ bin })])
  // A warm-up flood each: the first one's JIT and first faults are not the steady state.
  for (const [, d] of daemons) {
    await requireCommands(d)
    await flood(d)
  }
  const results = new Map<string, (Round & { ratio: number })[]>(daemons.map(([n]) => [n, []]))
  const loads: number[] = []
  console.log(`${rounds} rounds of one ${mib} MiB ${kind} flood per build and a pipe read between`)
  for (let r = 0; r < rounds; r++) {
    loads.push(load())
    const turn = r % daemons.length
    const order = [...daemons.slice(turn), ...daemons.slice(0, turn)]
    for (const [name, d] of order) {
      const pipeRate = await pipe()
      const m = await flood(d)
      const ratio = m.rate / pipeRate
      results.get(name)!.push({ ...m, ratio })
      console.log(
        `${name.padEnd(9)} ${m.rate.toFixed(0).padStart(4)} MiB/s (pipe ${pipeRate.toFixed(0)}: ${ratio.toFixed(2)}×) ` +
          `CPU ms/MiB all ${m.all.toFixed(2)} main ${m.main.toFixed(2)} writer ${m.writer.toFixed(2)}; per MiB ${callText(m.calls)}; ` +
          `peak RSS ${m.peak.toFixed(1)} MiB; load ${loads.at(-1)}`,
      )
    }
  }
  console.log(`\nmedian (min–max) over ${rounds} rounds; load average ${range(loads, 1)}`)
  for (const [name, ms] of results) {
    const of = (k: 'rate' | 'ratio' | 'all' | 'main' | 'peak' | 'writer') => ms.map(m => m[k])
    const calls = TRACED.filter(n => ms.some(m => n in m.calls)).map(
      n =>
        `${n} ${range(
          ms.map(m => m.calls[n] ?? NaN),
          1,
        )}`,
    )
    console.log(
      `${name.padEnd(9)} rate ${range(of('rate'), 0)} MiB/s, ${range(of('ratio'))}× the pipe; CPU ms/MiB all ` +
        `${range(of('all'))}, main ${range(of('main'))}, writer ${range(of('writer'))}; peak RSS ${range(of('peak'), 1)} MiB` +
        (calls.length ? `; syscalls per MiB: ${calls.join(', ')}` : ''),
    )
  }
  const [now, then] = [results.get('execd') ?? [], results.get('before') ?? []]
  if (then.length === 0) return
  const saved = then.map((m, i) => 1 - (now[i]?.all ?? NaN) / m.all)
  console.log(
    `execd's CPU per MiB below before's, per round: ${range(
      saved.map(x => x * 100),
      1,
    )}%; lower in ${saved.filter(x => x > 0).length} of ${then.length}`,
  )
}

await runThenClean(main)
