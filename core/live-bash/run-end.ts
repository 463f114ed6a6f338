/**
 * How a run of a live bash ended, as its caller is told: the code's status, a stop's, or the
 * shell gone, and whether the kernel's OOM killer is what ended it.
 */
import type { ExitInfo } from '../process'
import type { OomScope, OomWatch } from '../oom'
import { STALLED } from './stall'

/**
 * How a run ended: the code's exit status, or bash itself went away. `outOfMemory`: the kernel's
 * OOM killer killed a process while it ran (one of the shell's, or one somewhere in execd's
 * cgroups: the scope its count covers), and the run's last command (137) or the shell died of a
 * SIGKILL execd did not send (runOutcome).
 */
export type BashRunEnd =
  | { kind: 'exit'; code: number; interrupted: boolean; outOfMemory?: OomScope }
  | { kind: 'died'; reason: string; outOfMemory?: OomScope }

/**
 * The statuses of code a stop ended: the INT trap's `return 130` (a child that died of the SIGINT
 * is 130 too, and the trap returns it after), or 137, a child the grace killed. An interrupt sent
 * as the code ended lands outside it — between the code and the end function, where the trap's
 * `return` fails and `$?` is kept, inside the end function, which the trap skips, or after the
 * marker — and the marker carries the code's own status: such a run ended by itself (a timeout of
 * 500 ms against `sleep 0.49; echo done` was told `signal: interrupt` 2 in 45). Code that set an
 * INT trap of its own and went on is told by its status too.
 */
export const STOPPED = new Set([128 + 2, 128 + 9])

/**
 * The end with `outOfMemory` where the OOM kills rose (OomWatch.told: a count that says something
 * of this run) and it ended of a SIGKILL that execd did not send: the last command's 137, or the
 * shell's own death.
 */
export function runOutcome(end: BashRunEnd, oom: OomWatch, exit: ExitInfo | undefined): BashRunEnd {
  const scope =
    end.kind === 'exit'
      ? end.code === 128 + 9 && !end.interrupted && oom.told()
      : end.reason !== STALLED && oom.outOfMemory(exit)
  return scope ? { ...end, outOfMemory: scope } : end
}
