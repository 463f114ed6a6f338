/**
 * Whether the kernel's OOM killer ended an interpreter: a SIGKILL that execd did not send, while
 * the count of OOM kills rose — `oom_kill` of execd's memory cgroup and each one above it (v2's
 * memory.events, v1's memory.oom_control: they count the kills of their processes by any OOM
 * killer, the machine's too), or where none can be read, the machine's (/proc/vmstat).
 * A context notes the count as each cell starts, so a death is compared with its own cell.
 */
import { readFile } from 'node:fs/promises'
import { cgroupDirs } from './cgroup-dirs'
import { describeExit } from './exit-words'
import type { ExitInfo } from './process'

/** How an exit is told (describeExit's words), or that the kernel killed it out of memory. */
export const deathWords = (exit: ExitInfo, outOfMemory: boolean): string =>
  outOfMemory ? 'signal: killed: out of memory, a memory limit was reached' : describeExit(exit)

let counters: Promise<string[]> | undefined

/** The files that count OOM kills, found once: execd's cgroup does not change. */
const countersOf = (): Promise<string[]> =>
  (counters ??= readFile('/proc/self/cgroup', 'latin1').then(
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
const countOf = (path: string): Promise<number | undefined> => readFile(path, 'latin1').then(countIn, () => undefined)

/** OOM kills so far, summed over the counters that can be read; undefined when none can. */
export async function oomKills(): Promise<number | undefined> {
  const counts = (await Promise.all((await countersOf()).map(countOf))).filter(n => n !== undefined)
  if (counts.length) return counts.reduce((a, b) => a + b, 0)
  return countOf('/proc/vmstat')
}

/** One interpreter's watch: `mark()` as a cell starts, `outOfMemory(exit)` once it died. */
export class OomWatch {
  private before = oomKills()

  mark(): void {
    this.before = oomKills()
  }

  async outOfMemory(exit: ExitInfo | undefined): Promise<boolean> {
    if (exit?.signal !== 'SIGKILL' || exit.killedBy) return false
    const [before, after] = await Promise.all([this.before, oomKills()])
    return before !== undefined && after !== undefined && after > before
  }
}
