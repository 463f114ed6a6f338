/**
 * The default cap on running commands' logs together. Logs live in TMPDIR; on a tmpfs (or
 * ramfs) their pages are memory, charged to the container's memory cgroup. The fixed 1 GiB could
 * pass a small memory limit: two commands writing 300 MB each in a 400 MiB cgroup — the kernel
 * killed the children first, then execd. So where TMPDIR is in memory and a memory limit is set,
 * the default is a quarter of the smallest limit above execd (its own cgroup's or an
 * ancestor's), never more than 1 GiB; an explicit --command-log-total-bytes is taken as given.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { cgroupDirs, memoryLimitIn } from '../../core/cgroup-dirs'
import type { Logger } from '../../core/log'
import { mountsOf } from '../../core/mountinfo'

/** The default where memory does not bound the logs (TMPDIR on a disk, or no memory limit). */
export const LOG_TOTAL_DEFAULT = 1024 * 1024 * 1024

/** The share of the memory limit logs in memory may take: the rest is the commands', and execd's. */
const MEMORY_SHARE = 4

const MEMORY_FILESYSTEMS = new Set(['tmpfs', 'ramfs'])

/**
 * The type of the filesystem `path` (resolved, no symlinks) is on, from the text of
 * /proc/self/mountinfo: the deepest mount point above it; of mounts on the same point, the
 * last (the one on top).
 */
export function filesystemOf(path: string, mountinfo: string): string | undefined {
  let best: { point: string; type: string } | undefined
  for (const { point, fstype: type } of mountsOf(mountinfo)) {
    const under = point === '/' || path === point || path.startsWith(`${point}/`)
    if (under && (!best || point.length >= best.point.length)) best = { point, type }
  }
  return best?.type
}

/** The smallest memory limit over execd's memory cgroups and their ancestors, in bytes. */
export function memoryLimitOf(
  selfCgroup: string,
  read: (path: string) => string | undefined,
  root = '/',
): number | undefined {
  let least: number | undefined
  for (const { version, dir } of cgroupDirs(selfCgroup, 'memory', { ancestors: true, root })) {
    const limit = memoryLimitIn(read(`${dir}/${version === 2 ? 'memory.max' : 'memory.limit_in_bytes'}`))
    if (limit !== undefined && (least === undefined || limit < least)) least = limit
  }
  return least
}

export interface LogTotal {
  bytes: number
  /** Why the default is lower than LOG_TOTAL_DEFAULT, if it is. */
  because?: { filesystem: string; memoryLimit: number }
}

/** The default from what the machine says (each piece passed in by the tests). */
export function defaultLogTotal(
  dir: string,
  mountinfo: string | undefined,
  selfCgroup: string | undefined,
  read: (path: string) => string | undefined,
  root = '/',
): LogTotal {
  const filesystem = mountinfo === undefined ? undefined : filesystemOf(dir, mountinfo)
  if (!filesystem || !MEMORY_FILESYSTEMS.has(filesystem) || selfCgroup === undefined)
    return { bytes: LOG_TOTAL_DEFAULT }
  const memoryLimit = memoryLimitOf(selfCgroup, read, root)
  if (memoryLimit === undefined) return { bytes: LOG_TOTAL_DEFAULT }
  const share = Math.floor(memoryLimit / MEMORY_SHARE)
  return share < LOG_TOTAL_DEFAULT
    ? { bytes: share, because: { filesystem, memoryLimit } }
    : { bytes: LOG_TOTAL_DEFAULT }
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** This execd's default, from its TMPDIR, its mounts and its cgroups; said in the log when lowered. */
export function machineLogTotal(log?: Logger): number {
  let dir = tmpdir()
  try {
    dir = realpathSync(dir)
  } catch {} // an unusable TMPDIR is reported where it is used (core/temp-dir.ts)
  const total = defaultLogTotal(dir, readText('/proc/self/mountinfo'), readText('/proc/self/cgroup'), readText)
  if (total.because)
    log?.info("running commands' logs together capped at a quarter of the memory limit (TMPDIR is in memory)", {
      bytes: total.bytes,
      tmpdir: dir,
      ...total.because,
    })
  return total.bytes
}
