/**
 * What stopping a run falls back on when its SIGINT was not enough: every process below the
 * shell (the run's foreground processes and what they started) killed, the shell kept.
 */
import { scanProcs } from '../proc-scan'
import { within } from '../timers'

export const settles = async (p: Promise<unknown>, ms: number) => (await within(p, ms)) !== 'timeout'

/** Deeper than any tree a run makes; a chain past it is a fork bomb, ended with its shell's cgroup. */
const MAX_DEPTH = 256

/**
 * SIGKILL to each process below `pid` still running, from one /proc pass. Not the direct children
 * alone: a subshell that ignored SIGINT (`(trap '' INT; sleep 30)`) was killed and its `sleep`,
 * orphaned, ran on to its end after the run was told it stopped.
 */
export async function killDescendantsOf(pid: number): Promise<void> {
  const below = new Map<number, number[]>()
  for (const p of await scanProcs()) {
    if (p.state === 'Z') continue
    const children = below.get(p.ppid)
    if (children) children.push(p.pid)
    else below.set(p.ppid, [p.pid])
  }
  const doomed: number[] = []
  let level = below.get(pid) ?? []
  for (let depth = 0; level.length > 0 && depth < MAX_DEPTH; depth++) {
    doomed.push(...level)
    level = level.flatMap(child => below.get(child) ?? [])
  }
  // Parents first (the order of the walk): a parent still alive as its children die could fork more.
  for (const victim of doomed)
    try {
      process.kill(victim, 'SIGKILL')
    } catch {}
}
