/**
 * Memory kept for execd when its memory cgroup fills. The OOM killer of a full cgroup takes one
 * of its processes, whatever filled it: a command writing past the limit into a tmpfs
 * (/dev/shm, a container's /tmp) has its writer killed, first in line by its oom_score_adj
 * (core/oom-adj.ts), but the file stays, as memory that is no process's. The next page execd
 * needed found the cgroup still full and nothing left but execd: the killer took it (a 300 MiB
 * cgroup, one `head -c 400M /dev/zero > /dev/shm/f`: execd killed on every try).
 *
 * So where execd's memory cgroup has a limit and its v1 memory hierarchy is writable, its
 * children go into a cgroup of their own below it, limited to execd's limit less a reserve. What
 * they fill is counted there: its OOM killer sees only them, and execd keeps the reserve for
 * itself. Cgroup v2 cannot do the same with execd inside the cgroup whose limit it shares: a
 * cgroup with a process in it cannot hand its controllers down ("no internal processes").
 * A v1 cgroup can only be entered by a move (a write to its `cgroup.procs`), so a child waits at
 * a gate until execd has moved it (core/reserve-gate.ts). One that could not be gated runs in
 * execd's cgroup until it is moved, and what it forked before the move is moved too where its
 * cgroup v2 leaf lists it (core/cgroup.ts). A live shell's processes go one cgroup further
 * down, one of the shell's own (ShellMemoryCgroup): its count of OOM kills is theirs alone.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { cgroupDirs, memoryLimitIn } from './cgroup-dirs'
import { removeCgroup, removeCgroupSoon } from './cgroup-ops'
import type { Logger } from './log'
import { oomKillsIn, watchChildrenCgroup } from './oom'
import { readSmall, readSmallAt } from './procfs'
import { closeGate, openGate } from './reserve-gate'
import { randomHex } from './random'

/** execd's own RSS is ~60 MiB (13 MiB of it anonymous); a reserve smaller than that saves nothing. */
const MIN_RESERVE = 64 << 20
const MAX_RESERVE = 256 << 20

/** An eighth of the limit, within MIN..MAX_RESERVE, and never more than half of it. */
const reserveOf = (limit: number): number =>
  Math.min(Math.floor(limit / 2), Math.max(MIN_RESERVE, Math.min(MAX_RESERVE, Math.floor(limit / 8))))

/** The children's cgroup and its `cgroup.procs`, kept open for the moves. */
let reserve: { dir: string; procs: number } | undefined

/**
 * Makes the children's cgroup, once, keeping `bytes` of execd's limit for it (--memory-reserve-bytes;
 * unset: reserveOf); nothing is made where `bytes` is 0, where execd's memory has no limit or
 * one at most `bytes`, or where its v1 memory hierarchy is missing or not writable.
 */
export function reserveMemory(log?: Logger, bytes?: number): void {
  if (reserve || bytes === 0) return
  const self = readSmall('/proc/self/cgroup') ?? ''
  const own = cgroupDirs(self, 'memory').find(c => c.version === 1 && existsSync(join(c.dir, 'memory.limit_in_bytes')))
  if (!own) return
  const limits = cgroupDirs(self, 'memory', { ancestors: true })
    .filter(c => c.version === 1)
    .map(c => memoryLimitIn(readSmall(join(c.dir, 'memory.limit_in_bytes'))))
    .filter(n => n !== undefined)
  if (!limits.length) return
  const parentLimit = Math.min(...limits)
  if (bytes !== undefined && bytes >= parentLimit) {
    log?.warn("no memory reserve for execd: --memory-reserve-bytes is not below execd's memory limit", {
      memory_reserve_bytes: bytes,
      limit: parentLimit,
    })
    return
  }
  sweep(own.dir)
  const dir = join(own.dir, `execd-${process.pid}-${randomHex(4)}`)
  const limit = parentLimit - (bytes ?? reserveOf(parentLimit))
  try {
    mkdirSync(dir)
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limit))
    reserve = { dir, procs: openSync(join(dir, 'cgroup.procs'), 'w') }
    watchChildrenCgroup(dir)
  } catch (err) {
    tryRmdir(dir)
    log?.info('no memory reserve for execd: its children share its memory cgroup', {
      reason: (err as Error).message,
    })
    return
  }
  log?.info("execd's children are limited below execd's memory limit, keeping a reserve for execd", {
    cgroup: dir,
    children_limit: limit,
    limit: parentLimit,
  })
  // Each child waits until it is moved: nothing of its own runs in execd's cgroup.
  openGate(log)
}

/**
 * Moves the child `pid` into the children's cgroup, then what its leaf lists (`inLeaf`: what it
 * forked before the move). Nothing where there is no reserve. On the event loop, at once: what a
 * child writes before its move is counted in execd's cgroup, not its own, and a move on the
 * thread pool came late enough for that under load (four commands filling a tmpfs at once killed
 * execd once in five). A move took 17 µs here (median; 52 µs at p90, 24 ms at worst of 200, a
 * grace period of the kernel's lock on moves).
 */
export function underReserve(pid: number, inLeaf?: () => string[] | undefined): void {
  const fd = reserve?.procs
  if (fd === undefined) return
  move(fd, String(pid))
  for (const other of inLeaf?.() ?? []) if (other !== '' && other !== String(pid)) move(fd, other)
}

/** A gone process (ESRCH) is fine; a refused move leaves it where it is, in execd's cgroup. */
function move(fd: number, pid: string): void {
  try {
    writeSync(fd, pid)
  } catch {}
}

/** Removes the children's cgroup and its shells' (at exit, once they are killed); a v1 cgroup's charges go to its parent. */
export function releaseMemoryReserve(): void {
  if (!reserve) return
  try {
    closeSync(reserve.procs)
  } catch {}
  removeCgroup(reserve.dir)
  reserve = undefined
  closeGate()
}

let shells = 0

/**
 * A v1 memory cgroup of one shell's own, below the children's, with no limit of its own (the
 * children's limit holds it). v1 counts an OOM kill only in its victim's memory cgroup (its
 * `oom_kill`; v2 adds it to every ancestor too), so this one's count is the kills of the shell's
 * own processes: what lets a run's words say out of memory for it alone (core/live-bash). A
 * mkdir, an open and a move once a shell is ready, a read per run, an rmdir at its end.
 */
export class ShellMemoryCgroup {
  private constructor(
    private readonly dir: string,
    private readonly events: number,
  ) {}

  /**
   * The shell's cgroup with `pids` (the shell and what it has forked, idle between runs) moved
   * into it; undefined where there is no children's cgroup, or where it cannot be made or entered.
   */
  static make(pids: readonly number[]): ShellMemoryCgroup | undefined {
    if (!reserve) return undefined
    const dir = join(reserve.dir, `shell-${++shells}`)
    let procs: number | undefined
    try {
      mkdirSync(dir)
      procs = openSync(join(dir, 'cgroup.procs'), 'w')
      // The leader must go in: what it forks from then on is born inside; the rest may have ended.
      writeSync(procs, String(pids[0]))
      for (const pid of pids.slice(1)) move(procs, String(pid))
      return new ShellMemoryCgroup(dir, openSync(join(dir, 'memory.oom_control'), 'r'))
    } catch {
      tryRmdir(dir)
      return undefined
    } finally {
      if (procs !== undefined) closeSync(procs)
    }
  }

  /** The OOM kills of the shell's processes so far; undefined once it cannot be read. */
  kills(): number | undefined {
    try {
      return oomKillsIn(readSmallAt(this.events))
    } catch {
      return undefined
    }
  }

  /** Removes the cgroup once the shell's processes are gone (kept while one is left in it). */
  close(): void {
    try {
      closeSync(this.events)
    } catch {}
    void removeCgroupSoon(this.dir, 2000)
  }
}

/** Children's cgroups of execds that are gone (a pid with no process), if empty. */
function sweep(parent: string): void {
  let names: string[]
  try {
    names = readdirSync(parent)
  } catch {
    return
  }
  for (const name of names) {
    const pid = /^execd-(\d+)-[0-9a-f]+$/.exec(name)?.[1]
    if (pid === undefined) continue
    try {
      process.kill(Number(pid), 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') removeCgroup(join(parent, name))
    }
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir)
  } catch {}
}
