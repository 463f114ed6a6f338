/**
 * Whether the kernel's OOM killer ended a process execd started (an interpreter, a command): a
 * SIGKILL that execd did not send, while the count of OOM kills rose — `oom_kill` of execd's
 * memory cgroup and each one above it (v2's memory.events, v1's memory.oom_control: they count
 * the kills of their processes by any OOM killer, the machine's too), or where none can be read,
 * the machine's (/proc/vmstat). A watch notes the count as its cell or command starts, so a
 * death is compared with that start; what the words claim is what the count that rose proves
 * (deathWords), one rule for commands, interpreters and shells.
 */
import { readFileSync } from 'node:fs'
import { cgroupDirs, memoryLimitIn, type CgroupDir } from './cgroup-dirs'
import { describeExit } from './exit-words'
import type { ExitInfo } from './process'
import { readKeptIfThere } from './procfs'

/**
 * Read synchronously, so a count noted as a command starts is read before its spawn: read on the
 * thread pool, the kill of a command started into a full cgroup could come first. No serve start
 * loads this module before it listens (core/layout.test.ts holds node:fs off that path).
 */
function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1')
  } catch {
    return undefined
  }
}

const OUT_OF_MEMORY = 'signal: killed: out of memory, a memory limit was reached'

/**
 * Who died, as the words name it where the count that rose is shared (`cgroups`): what ran while
 * it rose, and whose the killed process is not known to be.
 */
const SHARED_WITH = {
  command: "while this command ran, not known to be this command's",
  interpreter: "since this interpreter's last cell started, not known to be this interpreter's",
  shell: "while this run ran, not known to be this shell's",
} as const
export type OomWho = keyof typeof SHARED_WITH

/** What a count shared by every child of execd saw, said after the status, not as its cause. */
const sharedKill = (who: OomWho): string =>
  ` (the kernel's OOM killer killed a process in execd's memory cgroups ${SHARED_WITH[who]})`

/**
 * How an exit is told (describeExit's words), with what the OOM count that rose (OomWatch.rose)
 * proves: the watch's own count (a shell's memory cgroup) proves the kernel killed it out of
 * memory, said as its cause; execd's cgroups' count, shared by every child, only that some
 * process was killed while it ran, said after the status; the machine's (/proc/vmstat), a kill
 * anywhere, perhaps another container's, nothing. Then, where the full cgroup is mostly tmpfs
 * files (fullOfFiles), that too: a fact of the cgroup, whoever was killed.
 */
export function deathWords(exit: ExitInfo, scope: OomScope | undefined, who: OomWho): string {
  if (scope === 'shell') return OUT_OF_MEMORY + fullOfFiles()
  if (scope === 'cgroups') return describeExit(exit) + sharedKill(who) + fullOfFiles()
  return describeExit(exit)
}

/** execd's memory cgroups (its own, then each above it), found once: execd's cgroup does not change. */
let cgroups: CgroupDir[] | undefined
const ownCgroups = (): CgroupDir[] =>
  (cgroups ??= cgroupDirs(read('/proc/self/cgroup') ?? '', 'memory', { ancestors: true }))

/** v1 counts a kill only in its victim's memory cgroup, not above it: the children's (core/memory-reserve.ts) too. */
const children: string[] = []
/** The count files of execd's memory cgroups, the children's first: made again only when those change. */
let countFiles: string[] | undefined
export const watchChildrenCgroup = (dir: string): void => {
  children.push(dir)
  countFiles = undefined
}

/** Every v1 memory cgroup a limit may be reached in, the children's first: the likeliest. */
const v1Dirs = (): string[] => [...children, ...ownCgroups().flatMap(c => (c.version === 1 ? [c.dir] : []))]

/** The `oom_kill` count of a memory cgroup's memory.events or memory.oom_control, or /proc/vmstat. */
export const oomKillsIn = (text: string | undefined): number | undefined => {
  const m = text === undefined ? null : /^oom_kill (\d+)$/m.exec(text)
  return m ? Number(m[1]) : undefined
}

/**
 * Where a count of OOM kills was read: a shell's own memory cgroup (ShellMemoryCgroup: its
 * processes' kills alone), execd's memory cgroups (every child's, and v2's count those of the
 * cgroups beside it below each one too), or the machine's.
 */
export type OomScope = 'shell' | 'cgroups' | 'machine'

interface Count {
  n: number
  of: OomScope
}

const countFilesNow = (): string[] =>
  (countFiles ??= [
    ...children.map(dir => `${dir}/memory.oom_control`),
    ...ownCgroups().map(({ version, dir }) => `${dir}/${version === 2 ? 'memory.events' : 'memory.oom_control'}`),
  ])

/** OOM kills so far, summed over the counters that can be read; undefined when none can. */
function oomKills(): Count | undefined {
  // Each count file read through a kept descriptor: this read comes before a cell's or command's
  // start (once a second), on its way. The candidates this host lacks are not looked for again.
  // A plain loop over paths made once: this code runs about once a second, on the cell after a
  // pause, too seldom to be compiled early. Its paths, map, filter and reduce and their five
  // closures reached JSC's tiers one by one over the daemon's life, each compile landing on a
  // paused cell (BUN_JSC_reportCompileTimes: 16 of the 17 that 30 paused cells met after 1,500 warm).
  const files = countFilesNow()
  let n = 0
  let counted = false
  for (let i = 0; i < files.length; i++) {
    const kills = oomKillsIn(readKeptIfThere(files[i]!))
    if (kills === undefined) continue
    n += kills
    counted = true
  }
  if (counted) return { n, of: 'cgroups' }
  const machine = oomKillsIn(read('/proc/vmstat'))
  return machine === undefined ? undefined : { n: machine, of: 'machine' }
}

const MIB = 1 << 20

/**
 * Where a limited v1 memory cgroup is at least half tmpfs files (`total_shmem`: /dev/shm, a
 * container's /tmp), what to tell: that memory is no process's, so the kill freed none of it, and
 * every command started before some are deleted is killed too. '' where it is not. v1 only: v2's
 * memory.stat has a `shmem` too, but no v2 memory controller was at hand to try it on.
 */
function fullOfFiles(): string {
  for (const dir of v1Dirs()) {
    const limit = memoryLimitIn(read(`${dir}/memory.limit_in_bytes`))
    if (limit === undefined) continue
    const stat = read(`${dir}/memory.stat`) ?? ''
    const shmem = Number((/^total_shmem (\d+)$/m.exec(stat) ?? /^shmem (\d+)$/m.exec(stat))?.[1] ?? 0)
    if (shmem * 2 < limit) continue
    return (
      `; ${Math.round(shmem / MIB)} MiB of the ${Math.round(limit / MIB)} MiB limit are files in a tmpfs ` +
      '(such as /dev/shm or /tmp), memory no process holds: delete some to free it'
    )
  }
  return ''
}

/**
 * The count as a cell or command starts, read at most once a second for all of them together:
 * read for each cell, it cost a python cell of `1` 0.4 ms of CPU more (0.7 → 1.1 ms). A reading
 * taken before the start still tells a kill after it.
 */
let recent: { at: number; count: Count | undefined } | undefined
const RECENT_MS = 1000

function recentKills(): Count | undefined {
  const now = performance.now()
  if (!recent || now - recent.at >= RECENT_MS) recent = { at: now, count: oomKills() }
  return recent.count
}

/**
 * One interpreter's, command's or shell's watch: `mark()` as a cell starts, `outOfMemory(exit)`
 * once it died. `own` reads a count of its own processes' kills alone (a shell's memory cgroup):
 * where it answers, no other count is read.
 */
export class OomWatch {
  private before: Count | undefined

  constructor(private readonly own?: () => number | undefined) {
    this.before = this.count(true)
  }

  mark(): void {
    this.before = this.count(true)
  }

  /**
   * Where the OOM kills rose while `exit`'s process ran, if it died of a SIGKILL that execd did not
   * send (told).
   */
  outOfMemory(exit: ExitInfo | undefined): OomScope | undefined {
    return exit?.signal === 'SIGKILL' && !exit.killedBy ? this.told() : undefined
  }

  /**
   * Where the count of OOM kills rose since the mark, if it did and that count says something of
   * what this watch watched: the machine's count is no one's (a kill in another container), so
   * never that.
   */
  told(): Exclude<OomScope, 'machine'> | undefined {
    const scope = this.rose()
    return scope === 'machine' ? undefined : scope
  }

  /** Where the count of OOM kills rose since the mark (a kill of what that count covers), if it did. */
  private rose(): OomScope | undefined {
    const before = this.before
    const after = this.count(false)
    if (after?.of !== 'shell' && after !== undefined) {
      // A fresh reading is the shared one from now on: a run started within the second after this
      // kill took the reading from before it, and its own `exit 137` read as out of memory.
      recent = { at: performance.now(), count: after }
    }
    return before !== undefined && after !== undefined && before.of === after.of && after.n > before.n
      ? after.of
      : undefined
  }

  private count(recentOk: boolean): Count | undefined {
    const n = this.own?.()
    if (n !== undefined) return { n, of: 'shell' }
    return recentOk ? recentKills() : oomKills()
  }
}

/**
 * A live bash's run whose status is 128 + SIGKILL while the OOM kills rose (OomWatch.rose): its
 * shell survived, and what it ran last was killed. Counted in the shell's own memory cgroup, the
 * kill was one of the shell's processes: out of memory, said so. Counted in execd's cgroups,
 * shared with every other child of execd (another shell's, a command's), it proves only a kill
 * somewhere among them while the run ran: said as that, after the status, not as its cause.
 */
export const runOutOfMemoryWords = (code: number, scope: OomScope): string =>
  scope === 'shell'
    ? `exit status ${code}: out of memory: the kernel's OOM killer killed a process of this shell while this run ` +
      `ran, a memory limit was reached${fullOfFiles()}`
    : `exit status ${code}${sharedKill('shell')}${fullOfFiles()}`
