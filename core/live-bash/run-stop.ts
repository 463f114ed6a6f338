/**
 * What stopping a run falls back on when its SIGINT was not enough: the shell's children (the
 * run's foreground processes) killed one by one, the shell kept.
 */
import { scanProcs } from '../proc-scan'
import { within } from '../timers'

export const settles = async (p: Promise<unknown>, ms: number) => (await within(p, ms)) !== 'timeout'

/** SIGKILL to each direct child of `pid` still running. */
export async function killChildrenOf(pid: number): Promise<void> {
  for (const child of await childrenOf(pid))
    try {
      process.kill(child, 'SIGKILL')
    } catch {}
}

/** Direct children of `pid` (the run's foreground processes), from one shared /proc pass. */
export async function childrenOf(pid: number): Promise<number[]> {
  return (await scanProcs()).filter(p => p.ppid === pid && p.state !== 'Z').map(p => p.pid)
}
