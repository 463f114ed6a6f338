/**
 * Row 4: output throughput — a command writing BENCH_BYTES (1 GiB) of 1 KiB lines to stdout,
 * consumed through `POST /command` SSE, vs the same command read through a plain pipe (pipe2, as execd reads it); and
 * execd's peak RSS meanwhile. 4c: the same flood through the least compiled Bun server that
 * sends one SSE event per line as execd frames it (bench/lib/sse-relay-server.ts). 4d, 4e: the
 * same flood as a bash session's run (`POST /session/{id}/run`, a live shell's pipes:
 * core/live-bash), its rate against the same pipe and execd's peak RSS meanwhile.
 */
import { readFileSync } from 'node:fs'
import { OutputPipes } from '../../core/output-pipes'
import { startSseRelay } from '../baselines/sse-relay'
import type { CompiledServer } from '../lib/compile'
import { requireCommands } from '../lib/command'
import { benchConfig, reps } from '../lib/config'
import { clientCpuSeconds, cpuSeconds, writeSyscalls } from '../lib/usage'
import { type Execd, startExecd } from '../lib/execd'
import { interleave } from '../lib/measure'
import { spawnTracked } from '../lib/procs'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, rateRatio } from '../lib/row'
import { PeakRss, RSS_GUARD_MIB } from '../lib/rss'
import { drainCounting } from '../lib/sse'
import { summarize } from '../lib/stats'

const MiB = 1024 * 1024
const RSS_TARGET_MIB = 100 // issue 16 (150 in the first round)

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

/**
 * Minor page faults of a process so far: fresh memory faulted in. A flood's cost was mostly
 * this churn (buffers freed in bulk, their pages handed back and faulted in again), and unlike
 * rates it barely moves with the machine's load.
 */
function minorFaults(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
  } catch {
    return null
  }
}

interface Flood {
  rate: number
  peak: number
  before: number
  /** Cut short by the RSS guard. */
  guarded: boolean
  /** Share of one core used by execd and by the bench client while it ran. */
  execdCpu?: number
  clientCpu?: number
  /** execd's own CPU per MiB of output, in ms: what the machine's load moves least. */
  cpuMsPerMiB?: number
  /** execd's write syscalls per MiB of output. */
  writesPerMiB?: number
  /** execd's minor page faults per MiB of output. */
  faultsPerMiB?: number
}

/** The flood as a command, or as a run of the session `sid`. */
async function floodThroughExecd(d: Execd, command: string, bytes: number, sid?: string): Promise<Flood> {
  const abort = new AbortController()
  const peak = new PeakRss(d.pid, () => abort.abort()).start()
  const t0 = performance.now()
  const cpu0 = cpuSeconds(d.pid).own
  const client0 = clientCpuSeconds()
  const writes0 = writeSyscalls(d.pid)
  const faults0 = minorFaults(d.pid)
  let id = ''
  try {
    const res = await d.fetch(sid ? `/session/${sid}/run` : '/command', {
      method: 'POST',
      body: JSON.stringify({ command }),
      headers: { 'content-type': 'application/json' },
      signal: abort.signal,
    })
    if (res.status !== 200)
      throw new Error(`POST ${sid ? 'session run' : '/command'}: ${res.status} ${await res.text()}`)
    const { bytes: wire, tail } = await drainCounting(res, head => {
      id = /"type":"init","text":"([^"]+)"/.exec(head)?.[1] ?? ''
    })
    const secs = (performance.now() - t0) / 1000
    if (!tail.includes('"type":"execution_complete"')) throw new Error(`flood did not complete: …${tail.slice(-300)}`)
    if (wire < bytes) throw new Error(`flood: ${wire} bytes on the wire for ${bytes} of output`)
    return {
      rate: bytes / MiB / secs,
      peak: peak.stop(),
      before: peak.before,
      guarded: false,
      execdCpu: (cpuSeconds(d.pid).own - cpu0) / secs,
      cpuMsPerMiB: ((cpuSeconds(d.pid).own - cpu0) * 1000) / (bytes / MiB),
      clientCpu: (clientCpuSeconds() - client0) / secs,
      writesPerMiB: writes0 === null ? undefined : ((writeSyscalls(d.pid) ?? writes0) - writes0) / (bytes / MiB),
      faultsPerMiB: faults0 === null ? undefined : ((minorFaults(d.pid) ?? faults0) - faults0) / (bytes / MiB),
    }
  } catch (e) {
    const max = peak.stop()
    if (!peak.guarded) throw e
    // Stop the command too: it is still writing into the daemon.
    if (sid) await d.fetch(`/session/${sid}`, { method: 'DELETE' }).then(r => r.arrayBuffer())
    else if (id)
      await d.fetch(`/command?id=${encodeURIComponent(id)}`, { method: 'DELETE' }).then(
        r => r.arrayBuffer(),
        () => {},
      )
    return { rate: NaN, peak: max, before: peak.before, guarded: true }
  }
}

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
      const guarded = floods.some(f => f.guarded)
      const ours = summarize(samples.execd.filter(Number.isFinite))
      const base = summarize(samples.pipe ?? [])
      const relayed = summarize(samples.floor ?? [])
      const peak = Math.max(...floods.map(f => f.peak))
      const inSession = summarize(samples.session?.filter(Number.isFinite) ?? [])
      const sessionGuarded = sessionFloods.some(f => f.guarded)
      const sessionPeak = Math.max(...sessionFloods.map(f => f.peak))
      const size = `${(bytes / MiB).toFixed(0)} MiB`
      const guardNote = `stopped when execd's RSS passed ${RSS_GUARD_MIB} MiB (BENCH_RSS_GUARD_MIB)`
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
          ...(ours.n === 0 ? { pass: false, note: guardNote } : { note: cpuNote }),
        },
        {
          row: '4b',
          what: 'execd peak RSS during the flood',
          ours: { median: peak, unit: 'MiB' },
          baselineName: 'execd before the first flood',
          baseline: { median: floods[0]?.before ?? NaN, unit: 'MiB' },
          ratio: peak / (floods[0]?.before ?? NaN),
          ratioLabel: '× the memory',
          target: `≤ ${RSS_TARGET_MIB} MiB`,
          pass: peak <= RSS_TARGET_MIB,
          ...(guarded ? { note: guardNote } : {}),
        },
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
          note: inSession.n === 0 ? guardNote : sessionNote(sessionFloods),
        },
        {
          row: '4e',
          what: "execd peak RSS during 4d's floods",
          ours: { median: sessionPeak, unit: 'MiB' },
          baselineName: 'execd before the first flood',
          baseline: { median: floods[0]?.before ?? NaN, unit: 'MiB' },
          ratio: sessionPeak / (floods[0]?.before ?? NaN),
          ratioLabel: '× the memory',
          target: `≤ ${RSS_TARGET_MIB} MiB`,
          pass: sessionPeak <= RSS_TARGET_MIB,
          ...(sessionGuarded ? { note: guardNote } : {}),
        },
      ]
    } finally {
      await floor?.stop()
      await d.stop()
    }
  },
} satisfies BenchRow
