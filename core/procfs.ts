/**
 * Reading /proc (proc(5)) in one place: the process ids it lists and the fields of
 * `/proc/<pid>/stat` execd needs — state, parent, group, session, the terminal's foreground
 * group (taken apart in core/proc-stat.ts) — and each process's children. Every owner (process
 * groups, the ownership net, the shared scanner, terminals, the OOM score's walk, the settle's
 * walk) reads through here.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { bootTicks } from './boot-clock'
import { parseStat, type ProcStat } from './proc-stat'

/** `pid`'s stat in one small synchronous read, or undefined once it has gone. */
export function readStat(pid: number | string): ProcStat | undefined {
  const text = readSmall(`/proc/${pid}/stat`)
  return text === undefined ? undefined : parseStat(text)
}

/** Whether `pid`, a child execd has not reaped yet, has exited (a zombie: its pid not reusable yet). */
export const exitedUnreaped = (pid: number): boolean => readStat(pid)?.state === 'Z'

/** /proc/uptime, kept open once read where the boot clock cannot be called (core/boot-clock.ts). */
let uptimeFd: number | undefined

/**
 * Now, in the clock of a stat's start time: ticks (USER_HZ, 100 on Linux) since boot; NaN without
 * either source. The boot clock first (no system call); else /proc/uptime, read again at offset 0
 * from a kept descriptor: one system call, not three.
 */
export function ticksSinceBoot(): number {
  const ticks = bootTicks()
  if (ticks !== undefined) return ticks
  let text: string | undefined
  try {
    uptimeFd ??= openSync('/proc/uptime', 'r')
    text = readSmallAt(uptimeFd)
  } catch {
    text = undefined
  }
  return Math.floor(Number(text?.split(' ')[0]) * 100)
}

const small = Buffer.alloc(4096)

/**
 * The start of a small file of procfs or cgroupfs (its first 4 KiB), or undefined if it cannot
 * be read. Such files report no size, so readFileSync reads them into a fresh 256 KiB buffer,
 * in five syscalls; this reads into one kept buffer, in three.
 */
export function readSmall(path: string): string | undefined {
  return readOpened(path)
}

/** readSmall's open, read and close; the descriptor handed to `keep` instead of closed once read. */
function readOpened(path: string, keep?: (fd: number) => void): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  let text: string | undefined
  try {
    text = readSmallAt(fd)
  } catch {
    text = undefined
  }
  if (text !== undefined && keep) keep(fd)
  else closeSync(fd)
  return text
}

/** The start of a small procfs or cgroupfs file open at `fd`, read again from its start (pread at 0 makes such a file anew). */
export function readSmallAt(fd: number): string {
  return small.toString('latin1', 0, readSync(fd, small, 0, small.length, 0))
}

/** Descriptors readKept keeps open, by path: a few small files each read again and again. */
const keptFds = new Map<string, number>()
/** More paths than a daemon reads this way (its memory cgroups' counts) are read as readSmall reads them. */
const MAX_KEPT_FDS = 16

/**
 * The start of a small procfs or cgroupfs file (as readSmall), read through a descriptor kept
 * open for its path: one pread at 0, where an open, a read and a close each time spent most of
 * the time in the open's walk of the path (3 memory cgroups' OOM counts, before a cell's code
 * went to its interpreter: ~80 µs against ~15). A kept descriptor that fails (its cgroup
 * removed: ENODEV) is closed and the path opened again. Undefined if it cannot be read.
 */
export function readKept(path: string): string | undefined {
  const kept = keptFds.get(path)
  if (kept !== undefined) {
    try {
      return readSmallAt(kept)
    } catch {
      keptFds.delete(path)
      closeSync(kept)
    }
  }
  if (keptFds.size >= MAX_KEPT_FDS) return readOpened(path)
  return readOpened(path, fd => keptFds.set(path, fd))
}

/** Paths readKeptIfThere looked for, and those of them missing at that first look. */
const looked = new Set<string>()
const missing = new Set<string>()

/**
 * readKept of a file that is there from its first look or never: one missing then (a candidate
 * cgroup directory of a hierarchy this host does not mount, as v2's on a v1 host) is not looked for
 * again. Opened and failed at each reading, such a path cost ~17 µs of its exception, ~40 µs on
 * caches a pause left cold: on the OOM reading that comes before every cell sent after a second's
 * pause. One that was there and went (its cgroup removed) is looked for again, as readKept does.
 */
export function readKeptIfThere(path: string): string | undefined {
  if (missing.has(path)) return undefined
  const text = readKept(path)
  if (text === undefined && !looked.has(path) && !existsSync(path)) missing.add(path)
  looked.add(path)
  return text
}

/** readStat without blocking the event loop. */
export async function readStatAsync(pid: number | string): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return undefined
  }
}

const pidsOf = (names: string[]) => names.filter(n => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).map(Number)

/** The process ids /proc lists now; undefined without a procfs. */
export function listPids(): number[] | undefined {
  try {
    return pidsOf(readdirSync('/proc'))
  } catch {
    return undefined
  }
}

/** listPids without blocking the event loop. */
export async function listPidsAsync(): Promise<number[] | undefined> {
  try {
    return pidsOf(await readdir('/proc'))
  } catch {
    return undefined
  }
}

/** The pids in a `children` file's text ("12 34 "). */
const pidsIn = (list: string): number[] => list.split(' ').filter(Boolean).map(Number)

const childrenFile = (pid: number, tid: number | string): string => `/proc/${pid}/task/${tid}/children`

/**
 * The children of `pid`, from each of its threads' `children` (a child is listed by the thread
 * that forked it); undefined where none can be read: `pid` gone, or a kernel without
 * CONFIG_PROC_CHILDREN.
 */
export function childrenOf(pid: number): number[] | undefined {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return undefined
  }
  let read = false
  const out: number[] = []
  for (const tid of tids) {
    const list = readSmallOrWhole(childrenFile(pid, tid))
    if (list === undefined) continue
    read = true
    out.push(...pidsIn(list))
  }
  return read ? out : undefined
}

/** A children file is one line of pids: past readSmall's 4 KiB (over ~500 children) it is read whole. */
function readSmallOrWhole(path: string): string | undefined {
  const text = readSmall(path)
  if (text === undefined || text.length < small.length) return text
  try {
    return readFileSync(path, 'latin1')
  } catch {
    return undefined
  }
}

/**
 * childrenOf without blocking the event loop. `oneThread`: the caller knows `pid` has a single
 * thread (its stat said so), whose own file lists them all, read without listing its threads.
 */
export async function childrenOfAsync(pid: number, oneThread = false): Promise<number[] | undefined> {
  if (oneThread) return readFile(childrenFile(pid, pid), 'latin1').then(pidsIn, () => undefined)
  let tids: string[]
  try {
    tids = await readdir(`/proc/${pid}/task`)
  } catch {
    return undefined
  }
  const lists = await Promise.all(tids.map(tid => readFile(childrenFile(pid, tid), 'latin1').catch(() => undefined)))
  if (lists.every(l => l === undefined)) return undefined
  return lists.flatMap(l => pidsIn(l ?? ''))
}

/** The first child of `pid` (its oldest, from its main thread's `children`), or by parent where the kernel lacks that file. */
export function firstChildOf(pid: number): number | undefined {
  try {
    const [first] = pidsIn(readFileSync(childrenFile(pid, pid), 'latin1').trim())
    return first
  } catch {
    // A kernel without CONFIG_PROC_CHILDREN: look for it by parent.
    return listPids()?.find(p => readStat(p)?.ppid === pid)
  }
}
