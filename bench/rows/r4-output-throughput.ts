/**
 * Row 4: output throughput — a command writing BENCH_BYTES (1 GiB) of 1 KiB lines to stdout,
 * consumed through `POST /command` SSE, vs the same command read through a plain pipe (pipe2, as execd reads it); and
 * execd's peak RSS meanwhile. 4c: the same flood through the least compiled Bun server that
 * sends one SSE event per line as execd frames it (bench/lib/sse-relay-server.ts). 4d, 4e: the
 * same flood as a bash session's run (`POST /session/{id}/run`, a live shell's pipes:
 * core/live-bash), its rate against the same pipe and execd's peak RSS meanwhile.
 */
import { OutputPipes } from '../../core/output-pipes'
import { startSseRelay } from '../baselines/sse-relay'
import type { CompiledServer } from '../lib/compile'
import { requireCommands } from '../lib/command'
import { benchConfig, reps } from '../lib/config'
import { cpuSeconds } from '../lib/usage'
import { type Execd, startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { spawnTracked } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { type Flood, floodThrough, GUARD_NOTE, peakRow } from '../lib/flood'
import { drainCounting } from '../lib/sse'
import { summarize } from '../lib/stats'

const MiB = 1024 * 1024

/** 1 KiB lines (1023 zeros and a newline): line splitting as real output needs it. */
export const floodCommand = (bytes: number) => `yes "$(printf '%01023d' 0)" | head -c ${bytes}`

/**
 * MiB/s of `command`'s stdout read through a real pipe, as execd reads a command's
 * (core/output-pipes.ts): Bun's own "pipe" is a socketpair, dearer to write into, and against it
 * execd's real pipe made the ratio better than the work. Rows 4a, 4d, 4f and 12a's baseline.
 */
export async function pipeRate(command: string, bytes: number): Promise<number> {
  const pipes = OutputPipes.make()
  if (!pipes) throw new Error('pipe: no pipe2 here')
  const t0 = performance.now()
  let got: number
  try {
    const proc = spawnTracked(['bash', '-c', command], { stdout: pipes.stdout })
    pipes.spawned()
    got = (await drainCounting(new Response(pipes.stream('stdout')))).bytes
    await proc.exited
  } finally {
    pipes.close()
  }
  if (got !== bytes) throw new Error(`pipe: read ${got} of ${bytes} bytes`)
  return bytes / MiB / ((performance.now() - t0) / 1000)
}

/** The flood as a command, or as a run of the session `sid`; cut by the guard, that ends too. */
const floodThroughExecd = (d: Execd, command: string, bytes: number, sid?: string): Promise<Flood> =>
  floodThrough(d, sid ? `/session/${sid}/run` : '/command', { command }, bytes, id =>
    sid
      ? d.fetch(`/session/${sid}`, { method: 'DELETE' }).then(r => r.arrayBuffer())
      : id
        ? d.fetch(`/command?id=${encodeURIComponent(id)}`, { method: 'DELETE' }).then(r => r.arrayBuffer())
        : Promise.resolve(),
  )

/** 4d's note: what the session's floods cost execd. */
function sessionNote(floods: Flood[]): string | undefined {
  const done = floods.filter(f => f.cpuMsPerMiB !== undefined)
  if (done.length === 0) return undefined
  return (
    `execd's CPU ${summarize(done.map(f => f.cpuMsPerMiB!)).median.toFixed(1)} ms per MiB ` +
    "(a live shell's output: its run's marker looked for in every chunk, then framed as a command's)"
  )
}

/** The flood through row 4c's floor: its rate and its CPU per MiB. */
async function floodThroughFloor(floor: CompiledServer, command: string, bytes: number) {
  const t0 = performance.now()
  const cpu0 = cpuSeconds(floor.pid).own
  const res = await fetch(`${floor.url}/command`, { method: 'POST', body: JSON.stringify({ command }) })
  const { bytes: wire, tail } = await drainCounting(res)
  const secs = (performance.now() - t0) / 1000
  if (!tail.includes('"type":"execution_complete"') || wire < bytes)
    throw new Error(`floor flood: ${wire} bytes, …${tail.slice(-200)}`)
  return { rate: bytes / MiB / secs, cpuMsPerMiB: ((cpuSeconds(floor.pid).own - cpu0) * 1000) / (bytes / MiB) }
}

export default {
  id: '4',
  title: 'output throughput (command stdout, session run)',
  async run(): Promise<RowResult[]> {
    const bytes = benchConfig.bytes
    const command = floodCommand(bytes)
    const d = await startExecd()
    let floor: CompiledServer | undefined
    const floorCpu: number[] = []
    try {
      await requireCommands(d)
      const least = (floor = await startSseRelay())
      const floods: Flood[] = []
      const sessionFloods: Flood[] = []
      const made = await d.post('/session', {})
      if (made.status !== 200) throw new Error(`POST /session: ${made.status} ${await made.text()}`)
      const sid = ((await made.json()) as { session_id: string }).session_id
      const samples = await interleave(
        [
          {
            name: 'execd',
            once: async () => {
              if (floods.some(f => f.guarded)) return NaN
              const flood = await floodThroughExecd(d, command, bytes)
              floods.push(flood)
              return flood.rate
            },
          },
          {
            name: 'session',
            once: async () => {
              if (sessionFloods.some(f => f.guarded)) return NaN
              const flood = await floodThroughExecd(d, command, bytes, sid)
              sessionFloods.push(flood)
              return flood.rate
            },
          },
          {
            name: 'floor',
            once: async () => {
              const f = await floodThroughFloor(least, command, bytes)
              floorCpu.push(f.cpuMsPerMiB)
              return f.rate
            },
          },
          {
            name: 'pipe',
            once: () => pipeRate(command, bytes),
          },
        ],
        { reps: reps(3, 2), budgetMs: 150_000, minReps: 2 },
      )
      const ours = summarize(samples.execd.filter(Number.isFinite))
      const base = summarize(samples.pipe ?? [])
      const relayed = summarize(samples.floor ?? [])
      const inSession = summarize(samples.session?.filter(Number.isFinite) ?? [])
      const size = `${(bytes / MiB).toFixed(0)} MiB`
      const done = floods.filter(f => f.execdCpu !== undefined)
      const pct = (xs: number[]) => `${(100 * summarize(xs).median).toFixed(0)}%`
      const cpuNote = done.length
        ? `during the flood execd used ${pct(done.map(f => f.execdCpu!))} of a core ` +
          `(${summarize(done.map(f => f.cpuMsPerMiB ?? NaN)).median.toFixed(1)} ms of CPU per MiB), the bench client ` +
          `${pct(done.map(f => f.clientCpu!))}; execd made ${summarize(done.map(f => f.writesPerMiB ?? NaN)).median.toFixed(0)} ` +
          'write syscalls per MiB of output (its log file and the socket) and ' +
          `${summarize(done.map(f => f.faultsPerMiB ?? NaN)).median.toFixed(0)} minor page faults per MiB`
        : undefined
      return [
        {
          row: '4a',
          what: `stdout throughput, ${size} via SSE`,
          ours: figure(ours, 'MiB/s'),
          baselineName: 'same command, plain pipe (pipe2)',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(ours.median, base.median, 0.5),
          ...(ours.n === 0 ? { pass: false, note: GUARD_NOTE } : { note: cpuNote }),
        },
        peakRow('4b', 'execd peak RSS during the flood', floods),
        {
          row: '4c',
          what: `stdout throughput, ${size} via SSE, vs the framing floor`,
          ours: figure(ours, 'MiB/s'),
          baselineName:
            "bare compiled Bun.serve relaying the same command's stdout as one SSE event per line, framed as execd frames them (no journal, no log)",
          baseline: figure(relayed, 'MiB/s'),
          ...rateRatio(ours.median, relayed.median),
          note:
            `the floor itself ran at ${(relayed.median / base.median).toFixed(2)}× the pipe for ` +
            `${summarize(floorCpu).median.toFixed(1)} ms of CPU per MiB (execd's in 4a's note): ` +
            "the part of 4a's gap any Bun daemon framing one event per line pays",
        },
        {
          row: '4d',
          what: `a session run's stdout throughput, ${size} via SSE`,
          ours: figure(inSession, 'MiB/s'),
          baselineName: 'same command, plain pipe (pipe2)',
          baseline: figure(base, 'MiB/s'),
          ...rateRatio(inSession.median, base.median),
          note: inSession.n === 0 ? GUARD_NOTE : sessionNote(sessionFloods),
        },
        peakRow('4e', "execd peak RSS during 4d's floods", sessionFloods, floods[0]?.before),
      ]
    } finally {
      await floor?.stop()
      await d.stop()
    }
  },
} satisfies BenchRow
