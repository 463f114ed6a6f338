/**
 * Whether the kernel's OOM killer ended an interpreter: a SIGKILL that execd did not send, while
 * the count of OOM kills rose — `oom_kill` of execd's memory cgroup and each one above it (v2's
 * memory.events, v1's memory.oom_control: they count the kills of their processes by any OOM
 * killer, the machine's too), or where none can be read, the machine's (/proc/vmstat).
 * A context notes the count as each cell starts, so a death is compared with its cell's start.
 */
import { cgroupDirs } from './cgroup-dirs'
import { describeExit } from './exit-words'
import type { ExitInfo } from './process'

/** How an exit is told (describeExit's words), or that the kernel killed it out of memory. */
export const deathWords = (exit: ExitInfo, outOfMemory: boolean): string =>
  outOfMemory ? 'signal: killed: out of memory, a memory limit was reached' : describeExit(exit)

let counters: Promise<string[]> | undefined

/** Bun.file, not node:fs: the bash runtime loads this at start, before node:fs may load. */
const read = (path: string): Promise<string> => Bun.file(path).text()

/** The files that count OOM kills, found once: execd's cgroup does not change. */
const countersOf = (): Promise<string[]> =>
  (counters ??= read('/proc/self/cgroup').then(
    self =>
      cgroupDirs(self, 'memory', { ancestors: true }).map(
        ({ version, dir }) => `${dir}/${version === 2 ? 'memory.events' : 'memory.oom_control'}`,
      ),
    () => [],
  ))

const countIn = (text: string): number | undefined => {
  const m = /^oom_kill (\d+)$/m.exec(text)
  return m ? Number(m[1]) : undefined
}
const countOf = (path: string): Promise<number | undefined> => read(path).then(countIn, () => undefined)

/** v1 counts a kill only in the cgroup whose limit was reached: the children's (core/memory-reserve.ts) too. */
const more: string[] = []
export const countOomKillsIn = (file: string): void => void more.push(file)

/** OOM kills so far, summed over the counters that can be read; undefined when none can. */
export async function oomKills(): Promise<number | undefined> {
  const files = [...(await countersOf()), ...more]
  const counts = (await Promise.all(files.map(countOf))).filter(n => n !== undefined)
  if (counts.length) return counts.reduce((a, b) => a + b, 0)
  return countOf('/proc/vmstat')
}

/**
 * The count as a cell starts, read at most once a second for every context together: read for
 * each cell, it cost a python cell of `1` 0.4 ms of CPU more (0.7 → 1.1 ms). A reading taken
 * before the cell started still tells a kill in the cell.
 */
let recent: { at: number; count: Promise<number | undefined> } | undefined
const RECENT_MS = 1000

function recentKills(): Promise<number | undefined> {
  const now = performance.now()
  if (!recent || now - recent.at >= RECENT_MS) recent = { at: now, count: oomKills() }
  return recent.count
}

/** One interpreter's watch: `mark()` as a cell starts, `outOfMemory(exit)` once it died. */
export class OomWatch {
  private before = recentKills()

  mark(): void {
    this.before = recentKills()
  }

  async outOfMemory(exit: ExitInfo | undefined): Promise<boolean> {
    if (exit?.signal !== 'SIGKILL' || exit.killedBy) return false
    const [before, after] = await Promise.all([this.before, oomKills()])
    return before !== undefined && after !== undefined && after > before
  }
}
