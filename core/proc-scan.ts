/**
 * One asynchronous pass over /proc: every process with its parent, group, session, state and,
 * when asked, the owner marker from its environment. A synchronous scan blocks the event loop
 * for the whole pass (200 terminals torn down at once made 142k opens and a 13 s shutdown), so
 * callers that poll at the same time share one pass instead of each making their own.
 */
import { readFile } from 'node:fs/promises'
import { listPidsAsync, readStatAsync } from './procfs'
import { inLanes } from './lanes'

export interface ProcInfo {
  pid: number
  ppid: number
  pgid: number
  sid: number
  /** 'R', 'S', 'Z' (zombie: holds nothing, cannot be killed further), ... */
  state: string
  /** Its start time (procfs ticks): a pid seen again is the same process only with the same. */
  start?: number
  /** The value of `markerKey` in the process's initial environment, when asked for. */
  marker?: string
  /** Its threads: one for most, whose children its own thread's `children` file lists. */
  threads?: number
}

/** Files read at once: enough to keep the thread pool busy, few enough to leave it to others. */
const PARALLEL = 64

/**
 * Reads the process table without blocking the event loop, and shares reads: every caller
 * gets a table read after it asked (so it sees the effect of signals it sent before, and no
 * process forked before it asked is missed), but callers that ask while a read is under way
 * all share the one read that follows it. Tearing down 200 terminals or 800 processes then
 * costs a few passes over /proc, not a few per process.
 */
export class ProcScanner {
  private running: Promise<ProcInfo[]> | null = null
  private queued: Promise<ProcInfo[]> | null = null

  /** With `markerKey`, each process's value of that environment variable is read too. */
  constructor(private readonly markerKey?: string) {}

  scan(): Promise<ProcInfo[]> {
    if (this.queued) return this.queued
    if (!this.running) return this.start()
    const queued = this.running.then(
      () => this.start(),
      () => this.start(),
    )
    this.queued = queued
    // The queued read has started once `running` settled: later callers need a new one.
    void this.running.finally(() => {
      if (this.queued === queued) this.queued = null
    })
    return queued
  }

  private start(): Promise<ProcInfo[]> {
    const read: Promise<ProcInfo[]> = scan(this.markerKey).finally(() => {
      if (this.running === read) this.running = null
    })
    this.running = read
    return read
  }
}

const shared = new Map<string, ProcScanner>()

/**
 * The processes now (a pass begun after this call). With `markerKey`, each one's value of that
 * variable too (readable for processes of the same user, or all as root).
 */
export function scanProcs(markerKey?: string): Promise<ProcInfo[]> {
  const kind = markerKey ?? ''
  let scanner = shared.get(kind)
  if (!scanner) shared.set(kind, (scanner = new ProcScanner(markerKey)))
  return scanner.scan()
}

async function scan(markerKey?: string): Promise<ProcInfo[]> {
  const pids = (await listPidsAsync()) ?? []
  const out: ProcInfo[] = []
  const needle = markerKey ? Buffer.from(`${markerKey}=`) : undefined
  await inLanes(pids, PARALLEL, async pid => {
    const info = await readProc(pid, needle)
    if (info) out.push(info)
  })
  return out
}

export async function readProc(pid: number, needle?: Buffer): Promise<ProcInfo | undefined> {
  const stat = await readStatAsync(pid)
  if (!stat) return undefined // exited meanwhile
  const { state, ppid, pgid, sid, start, threads } = stat
  const info: ProcInfo = { pid, state, ppid, pgid, sid, start, threads }
  if (needle && info.state !== 'Z') info.marker = await markerOf(pid, needle)
  return info
}

async function markerOf(pid: number, needle: Buffer): Promise<string | undefined> {
  let env: Buffer
  try {
    env = await readFile(`/proc/${pid}/environ`)
  } catch {
    return undefined
  }
  for (let at = env.indexOf(needle); at >= 0; at = env.indexOf(needle, at + 1)) {
    if (at > 0 && env[at - 1] !== 0) continue // the key must start a variable
    const end = env.indexOf(0, at)
    return env.toString('latin1', at + needle.length, end < 0 ? env.length : end)
  }
  return undefined
}
