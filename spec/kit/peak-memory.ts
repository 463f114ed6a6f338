/**
 * A process's peak resident memory so far (VmHWM): what a spec's bound on a flood or a big read
 * is checked against — a process the test has alone, so its peak is what the test made it hold.
 */
import { readFileSync } from 'node:fs'

export const peakMiB = (pid: number): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
