/**
 * The stalls core/loop-lag.ts wrote (EXECD_LOOP_LAG_LOG, a JSON line each): a turn of execd's
 * loop that came late, how long it ran, how long it waited for a core.
 */
import { existsSync, readFileSync } from 'node:fs'

export interface Stall {
  lagMs: number
  runMs: number
  waitMs: number
  asleepMs: number
  recent: string[]
}

/** The stalls in `log` so far (none while the daemon has written none). */
export const stallsOf = (log: string): Stall[] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line) as Stall)
    : []
