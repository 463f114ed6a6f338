/** Memory cgroups for the specs that run execd under a memory limit (OOM priority, logs in memory). */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cgroupDirs } from '../../core/cgroup-dirs'

/**
 * A memory cgroup limited to `limit` bytes, made under the test's own (which must be writable),
 * or why there is none.
 */
export function memoryCgroup(name: string, limit: number): { dir: string; version: 1 | 2 } | string {
  const self = readFileSync('/proc/self/cgroup', 'latin1')
  for (const { version, dir: parent } of cgroupDirs(self, 'memory')) {
    if (!existsSync(parent)) continue
    if (version === 2 && !readFileSync(`${parent}/cgroup.subtree_control`, 'latin1').includes('memory')) continue
    const dir = join(parent, `execd-spec-${name}-${process.pid}`)
    try {
      mkdirSync(dir)
      writeFileSync(join(dir, version === 2 ? 'memory.max' : 'memory.limit_in_bytes'), String(limit))
      return { dir, version: version as 1 | 2 }
    } catch (err) {
      try {
        rmdirSync(dir)
      } catch {}
      return `no writable memory cgroup: ${(err as Error).message}`
    }
  }
  return 'no memory cgroup'
}
