/**
 * Where execd's limit on processes is read: the directories of its pids cgroup, from the text of
 * /proc/self/cgroup — v1's pids hierarchy (`N:…pids…:/path`) and v2's unified one (`0::/path`,
 * mounted at /sys/fs/cgroup, or at /sys/fs/cgroup/unified on a hybrid host). Text in, paths
 * out: the caller reads them its own way (core/threads.ts before anything loads, with Bun.file;
 * core/errors.ts on a refusal, synchronously).
 */

/**
 * The candidate directories, own cgroup first; with `ancestors`, also each one above it that
 * this namespace shows (a limit may be set higher up; the root has no pids.max).
 */
export function pidsCgroupDirs(selfCgroup: string, ancestors = false): string[] {
  const dirs: string[] = []
  for (const line of selfCgroup.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(\/.*)$/.exec(line) ?? []
    if (path === undefined || controllers === undefined) continue
    const mounts =
      controllers === ''
        ? ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']
        : controllers.split(',').includes('pids')
          ? ['/sys/fs/cgroup/pids']
          : []
    for (const mount of mounts) {
      for (let p = path; ; p = p.slice(0, p.lastIndexOf('/')) || '/') {
        dirs.push(p === '/' ? mount : `${mount}${p}`)
        if (p === '/' || !ancestors) break
      }
    }
  }
  return dirs
}
