/** A process's anonymous memory (RssAnon) in MiB: what a leak or an unbounded queue grows. */
import { readFileSync } from 'node:fs'

export const anonMiB = (pid: number): number =>
  Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
