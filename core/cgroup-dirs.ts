/**
 * Where a controller's files for this process are: its cgroup directories, from the text of
 * /proc/self/cgroup — a v1 hierarchy (`N:cpu,cpuacct:/path`, mounted at /sys/fs/cgroup/cpu or at
 * the co-mount's /sys/fs/cgroup/cpu,cpuacct) and v2's unified one (`0::/path`, mounted at
 * /sys/fs/cgroup, or at /sys/fs/cgroup/unified on a hybrid host). Text in, paths out: each
 * caller reads them its own way (core/threads.ts before anything loads, with Bun.file;
 * core/errors.ts on a refusal, synchronously; the metrics' sampler from a fixture root in its
 * tests). No imports: core/threads.ts runs before node:fs or node:path load.
 */

export type Controller = 'cpu' | 'cpuacct' | 'memory' | 'pids'

export interface CgroupDir {
  /** 2: the unified hierarchy (cpu.max, memory.max, pids.max); 1: a controller's own. */
  version: 1 | 2
  dir: string
}

export interface CgroupDirOptions {
  /** Also each directory above the own one that this namespace shows (a limit may be set higher up). */
  ancestors?: boolean
  /** The file system root the mounts are under (tests point it at a fixture tree). */
  root?: string
}

/**
 * The candidate directories of `controller`, in the file's order, each own cgroup's first and
 * with `ancestors` each one above it, up to the mount. Which of them exist, and which hierarchy
 * holds the controller's files, the caller finds by reading.
 */
export function cgroupDirs(selfCgroup: string, controller: Controller, opts: CgroupDirOptions = {}): CgroupDir[] {
  const base = `${(opts.root ?? '/').replace(/\/+$/, '')}/sys/fs/cgroup`
  const dirs: CgroupDir[] = []
  for (const line of selfCgroup.split('\n')) {
    const [, list, path] = /^\d+:([^:]*):(\/.*)$/.exec(line) ?? []
    if (path === undefined || list === undefined) continue
    const controllers = list === '' ? [] : list.split(',')
    const version = controllers.length === 0 ? 2 : 1
    const mounts =
      version === 2
        ? [base, `${base}/unified`]
        : !controllers.includes(controller)
          ? []
          : controllers.length > 1
            ? [`${base}/${controller}`, `${base}/${list}`]
            : [`${base}/${controller}`]
    for (const mount of mounts) {
      for (let p = path; ; p = p.slice(0, p.lastIndexOf('/')) || '/') {
        dirs.push({ version, dir: p === '/' ? mount : `${mount}${p}` })
        if (p === '/' || !opts.ancestors) break
      }
    }
  }
  return dirs
}

/** execd's own cgroup path in the unified (v2) hierarchy, as /proc/self/cgroup gives it. */
export const unifiedCgroupPath = (selfCgroup: string): string | undefined => /^0::(\/.*)$/m.exec(selfCgroup)?.[1]

/** v1 says "no limit" with a page-rounded number near 2^63. */
const UNLIMITED = 2 ** 60

/** A memory limit file's text (v2 `memory.max`, v1 `memory.limit_in_bytes`) → bytes, or undefined for none. */
export function memoryLimitIn(raw: string | undefined): number | undefined {
  const text = raw?.trim()
  if (!text || !/^\d+$/.test(text)) return undefined
  const limit = Number(text)
  return limit > 0 && limit < UNLIMITED ? limit : undefined
}
