/**
 * The descendants of an owner's processes, remembered. A child can shed every mark of its
 * owner (`setsid env -i …`, a root one writing itself out of its cgroup); while its parent is
 * an owned process, the parent links in /proc still say whose it is. Once found so, it is
 * kept by pid and start time: killed with its owner even after its parent has gone, and never
 * confused with a later process given the same pid.
 */
import type { ProcInfo } from './proc-scan'

export class Lineage {
  /** pid → start time of the processes found by descent. */
  private readonly known = new Map<number, number | undefined>()

  get empty(): boolean {
    return this.known.size === 0
  }

  /**
   * `members` (found by group, marker and cgroup) with every live descendant of theirs in
   * `procs` and every process found so before that still runs; remembers the descendants.
   */
  extend(members: Set<number>, procs: readonly ProcInfo[]): number[] {
    const children = new Map<number, ProcInfo[]>()
    const live = new Map<number, ProcInfo>()
    for (const p of procs) {
      if (p.state === 'Z' || p.pid === process.pid) continue
      live.set(p.pid, p)
      const siblings = children.get(p.ppid)
      if (siblings) siblings.push(p)
      else children.set(p.ppid, [p])
    }
    for (const [pid, start] of this.known) {
      if (live.get(pid)?.start === start) members.add(pid)
      else this.known.delete(pid)
    }
    const queue = [...members]
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      for (const child of children.get(pid) ?? []) {
        if (members.has(child.pid)) continue
        members.add(child.pid)
        this.known.set(child.pid, child.start)
        queue.push(child.pid)
      }
    }
    return [...members]
  }

  /** Whether a remembered descendant is still running in `procs`. */
  alive(procs: readonly ProcInfo[]): boolean {
    if (this.known.size === 0) return false
    for (const p of procs)
      if (p.state !== 'Z' && this.known.has(p.pid) && this.known.get(p.pid) === p.start) return true
    return false
  }
}
