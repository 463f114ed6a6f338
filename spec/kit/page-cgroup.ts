/**
 * Which memory cgroup a process's stack pages are charged to, page by page: the stack holds what
 * exec copied for it (its arguments and environment), charged to the cgroup the process was in
 * at its exec. v1 leaves a page's charge where it was made when the process moves, so this tells
 * where a child was when it began, with no race to win (spec/oom-reserve). Needs root and a
 * kernel with /proc/kpagecgroup.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs'

const PAGE = 4096
const PFN_MASK = (1n << 55n) - 1n

/** Why the stack's cgroups cannot be read here, or undefined. */
export const pageCgroupsWhyNot = (): string | undefined =>
  process.getuid?.() !== 0 ? 'needs root' : existsSync('/proc/kpagecgroup') ? undefined : 'no /proc/kpagecgroup'

/** The memory cgroup inode of each page of `pid`'s stack that is in memory (pagemap, then kpagecgroup). */
export function stackPageCgroups(pid: number): number[] {
  const stack = readFileSync(`/proc/${pid}/maps`, 'latin1')
    .split('\n')
    .find(l => l.endsWith('[stack]'))
  if (!stack) return []
  const [lo, hi] = stack
    .split(' ')[0]!
    .split('-')
    .map(h => parseInt(h, 16)) as [number, number]
  const pagemap = openSync(`/proc/${pid}/pagemap`, 'r')
  const kpagecgroup = openSync('/proc/kpagecgroup', 'r')
  const entry = Buffer.alloc(8)
  const inodes: number[] = []
  try {
    for (let page = lo / PAGE; page < hi / PAGE; page++) {
      readSync(pagemap, entry, 0, 8, page * 8)
      const e = entry.readBigUInt64LE()
      if (!(e >> 63n)) continue // not present
      readSync(kpagecgroup, entry, 0, 8, Number(e & PFN_MASK) * 8)
      inodes.push(Number(entry.readBigUInt64LE()))
    }
  } finally {
    closeSync(pagemap)
    closeSync(kpagecgroup)
  }
  return inodes
}
