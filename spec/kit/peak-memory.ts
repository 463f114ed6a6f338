/**
 * A process's peak resident memory so far (VmHWM): what a spec's bound on a flood or a big read
 * is checked against — a process the test has alone, so its peak is what the test made it hold.
 * And what it holds (heldMiB), where the peak is the garbage of the way there too.
 */
import { readFileSync } from 'node:fs'
import { rssMiB } from '../harness'

export const peakMiB = (pid: number): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

/**
 * What a process holds, not the peak on the way: that is the garbage of its reads too, and moved
 * with the machine's load (446-687 MiB for the same held values once). The least RSS of
 * `samples` 200 ms apart.
 */
export async function heldMiB(pid: number, samples = 10): Promise<number> {
  let held = Infinity
  for (let i = 0; i < samples; i++) {
    held = Math.min(held, rssMiB(pid))
    await Bun.sleep(200)
  }
  return held
}
