/**
 * The processes that may still hold something of a finished command: execd's descendants, not
 * the whole process table. Where execd takes its children's orphans (PID 1, or their subreaper:
 * core/reaper.ts), nothing a command started can leave execd's tree, whatever `setsid` or double
 * fork it made, so a process outside the tree never carries one of its markers. The settle pass
 * of `--cgroups off` (core/process.ts) read the stat and environ of every process every 10 s
 * while a command lingered: with 2,000 other processes on the host, ~136 ms of CPU a pass; this
 * walk reads only the tree (each process's threads' `children`, then its stat and environ).
 * With 2,000 processes of its own it costs a quarter more than the pass (1.21–1.32 times
 * its CPU: three reads a process where the pass made two). Undefined where it cannot tell (execd takes no orphans, the kernel has no
 * `children` files) or would only cost more (PID 1: every process is execd's).
 */
import { readProc, type ProcInfo } from './proc-scan'
import { childrenOfAsync } from './procfs'
import { adoptsOrphans } from './reaper'

/** Processes looked at once, as in proc-scan's pass. */
const PARALLEL = 64
/** Deeper than any tree a command makes; a chain past it is a fork bomb, owned by its group still. */
const MAX_DEPTH = 256

export async function scanDescendants(markerKey: string): Promise<ProcInfo[] | undefined> {
  // As PID 1 every process of the namespace is execd's: the walk would read more than the pass.
  if (!adoptsOrphans() || process.pid === 1) return undefined
  let level = await childrenOfAsync(process.pid)
  if (level === undefined) return undefined
  const needle = Buffer.from(`${markerKey}=`)
  const out: ProcInfo[] = []
  // A level at a time: each process's own entry and its children, PARALLEL at once.
  for (let depth = 0; level.length > 0 && depth < MAX_DEPTH; depth++) {
    const below: number[] = []
    for (let at = 0; at < level.length; at += PARALLEL) {
      await Promise.all(
        level.slice(at, at + PARALLEL).map(async pid => {
          const info = await readProc(pid, needle)
          if (!info) return // gone: what it had is execd's child now, or gone too
          out.push(info)
          // One thread (most processes): its own `children` file, without listing its threads.
          const children = await childrenOfAsync(pid, info.threads === 1)
          if (children) below.push(...children)
        }),
      )
    }
    level = below
  }
  return out
}
