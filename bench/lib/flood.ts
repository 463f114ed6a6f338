/**
 * One output flood read through an execd event stream (a command, a session's run, a code cell):
 * its rate, execd's peak RSS meanwhile (the RSS guard stops it, and `stop` then ends what still
 * writes into the daemon), and what it cost execd — rows 4, 4f and 12 measure their floods so,
 * and judge the peak the same way (`peakRow`).
 */
import { readFileSync } from 'node:fs'
import type { Execd } from './execd'
import type { RowResult } from './report'
import { PeakRss, RSS_GUARD_MIB } from './rss'
import { drainCounting } from './sse'
import { clientCpuSeconds, cpuSeconds, writeSyscalls } from './usage'

const MiB = 1024 * 1024
/** Issue 16's bound on execd's peak RSS during a 1 GiB flood (150 MiB in the first round). */
export const RSS_TARGET_MIB = 100
export const GUARD_NOTE = `stopped when execd's RSS passed ${RSS_GUARD_MIB} MiB (BENCH_RSS_GUARD_MIB)`

export interface Flood {
  rate: number
  peak: number
  before: number
  /** Cut short by the RSS guard. */
  guarded: boolean
  /** The stream's last bytes (what a cell printed after its flood). */
  tail?: string
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

/**
 * POSTs `body` to `path` and reads the answer's stream to its end: `bytes` of output must have
 * come whole. Past the RSS guard the read is cut and `stop` called with the execution's id (its
 * `init` event's), to end what is still writing.
 */
export async function floodThrough(
  d: Execd,
  path: string,
  body: unknown,
  bytes: number,
  stop: (id: string) => Promise<unknown>,
): Promise<Flood> {
  const abort = new AbortController()
  const peak = new PeakRss(d.pid, () => abort.abort()).start()
  const t0 = performance.now()
  const cpu0 = cpuSeconds(d.pid).own
  const client0 = clientCpuSeconds()
  const writes0 = writeSyscalls(d.pid)
  const faults0 = minorFaults(d.pid)
  let id = ''
  try {
    const res = await d.fetch(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: abort.signal,
    })
    if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`)
    const { bytes: wire, tail } = await drainCounting(res, head => {
      id = /"type":"init","text":"([^"]+)"/.exec(head)?.[1] ?? ''
    })
    const secs = (performance.now() - t0) / 1000
    if (!tail.includes('"type":"execution_complete"')) throw new Error(`flood did not complete: …${tail.slice(-300)}`)
    if (wire < bytes) throw new Error(`flood: ${wire} bytes on the wire for ${bytes} of output`)
    const execdSecs = cpuSeconds(d.pid).own - cpu0
    return {
      rate: bytes / MiB / secs,
      peak: peak.stop(),
      before: peak.before,
      guarded: false,
      tail,
      execdCpu: execdSecs / secs,
      cpuMsPerMiB: (execdSecs * 1000) / (bytes / MiB),
      clientCpu: (clientCpuSeconds() - client0) / secs,
      writesPerMiB: writes0 === null ? undefined : ((writeSyscalls(d.pid) ?? writes0) - writes0) / (bytes / MiB),
      faultsPerMiB: faults0 === null ? undefined : ((minorFaults(d.pid) ?? faults0) - faults0) / (bytes / MiB),
    }
  } catch (e) {
    const max = peak.stop()
    if (!peak.guarded) throw e
    await stop(id).catch(() => {})
    return { rate: NaN, peak: max, before: peak.before, guarded: true }
  }
}

/** The row judging execd's peak RSS over `floods` against issue 16's bound; `before` the first flood's. */
export function peakRow(row: string, what: string, floods: Flood[], before = floods[0]?.before ?? NaN): RowResult {
  const peak = Math.max(...floods.map(f => f.peak))
  return {
    row,
    what,
    ours: { median: peak, unit: 'MiB' },
    baselineName: 'execd before the first flood',
    baseline: { median: before, unit: 'MiB' },
    ratio: peak / before,
    ratioLabel: '× the memory',
    target: `≤ ${RSS_TARGET_MIB} MiB`,
    pass: peak <= RSS_TARGET_MIB,
    ...(floods.some(f => f.guarded) ? { note: GUARD_NOTE } : {}),
  }
}
