/**
 * What serve does with the signals whose default action ends a process. Any of them left to
 * that action killed execd on the spot: no shutdown, every command, session and interpreter
 * group left running without its owner, the temp dir left full. So each one either stops execd
 * as SIGTERM does or is ignored (and logged: someone sent it for a reason).
 * SIGSTKFLT and SIGIO cannot be caught under Bun; SIGPIPE, SIGXFSZ and SIGPWR it ignores already.
 */
import type { Logger } from '../core/log'

/** Requests to end: a container stop signal (SIGQUIT), the CPU-time limit's warning (SIGXCPU). */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGXCPU'] as const

/** Meant for a program that asked for them; execd did not (`kill -USR1` to the wrong pid). */
const IGNORED_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF'] as const

/** Installs the ignoring handlers, but for the signals that already have a use (`handled`). */
export function ignoreStraySignals(log: Logger, handled: readonly string[] = []): void {
  for (const signal of IGNORED_SIGNALS) {
    if (handled.includes(signal)) continue
    process.on(signal, () => log.warn('signal ignored', { signal }))
  }
}
