/**
 * Raw readings of CPU and memory, cgroup-aware: inside a container with limits the figures
 * are relative to the cgroup's CPU quota and memory limit (v2 unified or v1 controllers);
 * the host's /proc is used only where no limit is set. Every path is under `root` so tests
 * can point it at fixture trees laid out like real cgroupfs and procfs.
 */
import { readFileSync, existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { cgroupDirs, memoryLimitIn, type Controller } from '../../core/cgroup-dirs'
import { limitReached } from '../../core/errors'

export interface Reading {
  /** CPUs available: the quota (e.g. 1.5) or the host's count. */
  cpuCount: number
  /** Cumulative CPU time consumed, in microseconds, in the scope that `cpuCount` describes. */
  cpuUsageUs: number
  /** For host scope: cumulative total (busy + idle) jiffy time, in microseconds. */
  cpuTotalUs?: number
  memTotalBytes: number
  memUsedBytes: number
  /** Wall clock at the reading (ms): the sample's timestamp. */
  at: number
  /** performance.now() at the reading: the interval between two, which a step of the wall clock is not. */
  mono: number
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (err) {
    // A file that could not be opened for want of an fd is not a file that is missing: read
    // as absent, every figure came out 0 (a 200 saying the machine has no memory).
    if (limitReached(err)) throw err
    return undefined
  }
}

interface CgroupPaths {
  version: 1 | 2
  cpu?: string // v2: unified dir; v1: cpu controller dir
  cpuacct?: string
  memory?: string
}

/**
 * This process's cgroup directories (core/cgroup-dirs.ts): v2 where the unified hierarchy at
 * /sys/fs/cgroup has controllers (a hybrid host's /unified has none: v1's then), each
 * controller's own cgroup if this namespace shows it, else the nearest dir above it that it shows.
 */
function findCgroup(root = '/'): CgroupPaths | undefined {
  const self = read(join(root, 'proc/self/cgroup'))
  if (!self) return undefined
  const version = existsSync(join(root, 'sys/fs/cgroup/cgroup.controllers')) ? 2 : 1
  const dirOf = (controller: Controller) =>
    cgroupDirs(self, controller, { root, ancestors: true }).find(d => d.version === version && existsSync(d.dir))?.dir
  const cpu = dirOf('cpu')
  const memory = dirOf('memory')
  if (version === 2) return { version, cpu, memory }
  if (!cpu && !memory) return undefined
  return { version, cpu, cpuacct: dirOf('cpuacct') ?? cpu, memory }
}

function readCpuQuota(cg: CgroupPaths | undefined): number | undefined {
  if (!cg?.cpu) return undefined
  if (cg.version === 2) {
    const [quota, period] = (read(join(cg.cpu, 'cpu.max')) ?? 'max').split(/\s+/)
    if (quota === 'max' || !period) return undefined
    return Number(quota) / Number(period)
  }
  const quota = Number(read(join(cg.cpu, 'cpu.cfs_quota_us')) ?? -1)
  const period = Number(read(join(cg.cpu, 'cpu.cfs_period_us')) ?? 0)
  return quota > 0 && period > 0 ? quota / period : undefined
}

function readCgroupCpuUsageUs(cg: CgroupPaths): number | undefined {
  if (cg.version === 2) {
    const line = read(join(cg.cpu!, 'cpu.stat'))
      ?.split('\n')
      .find(l => l.startsWith('usage_usec '))
    return line ? Number(line.split(' ')[1]) : undefined
  }
  const ns = read(join(cg.cpuacct ?? cg.cpu!, 'cpuacct.usage'))
  return ns === undefined ? undefined : Number(ns) / 1000
}

/** Memory limit and working set (usage minus inactive file cache, as kubectl/docker report). */
function readCgroupMemory(cg: CgroupPaths | undefined): { limit?: number; used?: number } {
  if (!cg?.memory) return {}
  const v2 = cg.version === 2
  const limitRaw = read(join(cg.memory, v2 ? 'memory.max' : 'memory.limit_in_bytes'))
  const usageRaw = read(join(cg.memory, v2 ? 'memory.current' : 'memory.usage_in_bytes'))
  const stat = statMap(read(join(cg.memory, 'memory.stat')))
  const inactive = v2 ? stat.inactive_file : (stat.total_inactive_file ?? stat.inactive_file)
  const limit = memoryLimitIn(limitRaw)
  const used = usageRaw === undefined ? undefined : Math.max(0, Number(usageRaw) - (inactive ?? 0))
  return { limit, used }
}

function statMap(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text?.split('\n') ?? []) {
    const [k, v] = line.split(/\s+/)
    if (k && v !== undefined) out[k] = Number(v)
  }
  return out
}

/** Host memory from /proc/meminfo: used = total − free − buffers − cached − sreclaimable. */
function readHostMemory(root = '/'): { total: number; used: number } {
  const info: Record<string, number> = {}
  for (const line of (read(join(root, 'proc/meminfo')) ?? '').split('\n')) {
    const [, key, kib] = /^(\w+):\s+(\d+)/.exec(line) ?? []
    if (key !== undefined) info[key] = Number(kib) * 1024
  }
  const total = info.MemTotal ?? 0
  const used = total - (info.MemFree ?? 0) - (info.Buffers ?? 0) - (info.Cached ?? 0) - (info.SReclaimable ?? 0)
  return { total, used: Math.max(0, used) }
}

/** Host CPU time from the aggregate line of /proc/stat, in µs (USER_HZ = 100). */
function readHostCpu(root = '/'): { busyUs: number; totalUs: number } {
  const line = read(join(root, 'proc/stat'))
    ?.split('\n')
    .find(l => l.startsWith('cpu '))
  if (line === undefined) throw new Error(`${join(root, 'proc/stat')} has no cpu line`)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const busy = user + nice + system + irq + softirq + steal
  const total = busy + idle + iowait
  return { busyUs: busy * 10_000, totalUs: total * 10_000 }
}

/** One reading; cgroup figures where a limit exists, host figures otherwise. */
export function takeReading(root = '/', hostCpus = availableParallelism()): Reading {
  const cg = findCgroup(root)
  const quota = readCpuQuota(cg)
  const mem = readCgroupMemory(cg)
  const host = readHostMemory(root)
  const memLimited = mem.limit !== undefined && mem.used !== undefined && (host.total === 0 || mem.limit < host.total)
  // An empty or unreadable /proc/meminfo (a masked /proc) answered 200 with 0 MiB of 0 MiB, and
  // one without a cpu line 0 % for ever: no figure is said rather than a false one.
  if (!memLimited && host.total === 0) throw new Error(`${join(root, 'proc/meminfo')} gives no MemTotal`)
  const cgCpu = quota !== undefined && cg ? readCgroupCpuUsageUs(cg) : undefined
  const hostCpu = cgCpu === undefined ? readHostCpu(root) : undefined
  return {
    cpuCount: cgCpu !== undefined ? Math.max(0.01, Math.round(quota! * 100) / 100) : hostCpus,
    cpuUsageUs: cgCpu ?? hostCpu!.busyUs,
    cpuTotalUs: hostCpu?.totalUs,
    memTotalBytes: memLimited ? mem.limit! : host.total,
    memUsedBytes: memLimited ? mem.used! : host.used,
    at: Date.now(),
    mono: performance.now(),
  }
}

/** CPU used between two readings, as % of the CPUs available (0–100). */
export function cpuPercent(prev: Reading, next: Reading): number {
  let pct: number
  if (next.cpuTotalUs !== undefined && prev.cpuTotalUs !== undefined) {
    const total = next.cpuTotalUs - prev.cpuTotalUs
    pct = total > 0 ? ((next.cpuUsageUs - prev.cpuUsageUs) / total) * 100 : 0
  } else {
    const wallUs = (next.mono - prev.mono) * 1000
    pct = wallUs > 0 ? ((next.cpuUsageUs - prev.cpuUsageUs) / wallUs / next.cpuCount) * 100 : 0
  }
  return Math.round(Math.min(100, Math.max(0, pct)) * 100) / 100
}
