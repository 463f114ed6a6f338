/**
 * What serve does with the signals whose default action ends a process, alone and as the
 * container's entrypoint (`serve -- <command>`, cmd/entrypoint.ts): one table for both modes.
 * Any of them left to that action killed execd on the spot: no shutdown, every command, session
 * and interpreter group left running without its owner, the temp dir left full, and as an
 * entrypoint the main process left without the execd it follows. So each one stops execd as
 * SIGTERM does, is passed on to the main process (whose exit ends execd), or is ignored (and
 * logged: someone sent it for a reason).
 * SIGSTKFLT and SIGIO cannot be caught under Bun; SIGPIPE, SIGXFSZ and SIGPWR it ignores already.
 */
import type { Logger } from '../core/log'
import { LogThrottle } from '../core/log-throttle'

interface SignalUse {
  /** execd on its own: stop as SIGTERM does, or ignore. */
  alone: 'stop' | 'ignore'
  /** With a main process: the signal it is passed on to it as, or ignore. */
  withMain: NodeJS.Signals | 'ignore'
}

export const SIGNALS: Readonly<Record<string, SignalUse>> = {
  SIGTERM: { alone: 'stop', withMain: 'SIGTERM' },
  SIGINT: { alone: 'stop', withMain: 'SIGINT' },
  // A container stop signal (docker's STOPSIGNAL, nginx's images).
  SIGQUIT: { alone: 'stop', withMain: 'SIGQUIT' },
  // A closed terminal (serve.ts reopens the log file instead, when there is one).
  SIGHUP: { alone: 'stop', withMain: 'SIGHUP' },
  // The warning of execd's own CPU-time limit (RLIMIT_CPU): a request that execd end. As an
  // entrypoint, execd ends when the main process does, so that one is asked to end; handing
  // it a SIGXCPU it did not earn would make it dump core.
  SIGXCPU: { alone: 'stop', withMain: 'SIGTERM' },
  // Meant for a program that asked for them: the main process's own (a reload, a log rotation).
  SIGUSR1: { alone: 'ignore', withMain: 'SIGUSR1' },
  SIGUSR2: { alone: 'ignore', withMain: 'SIGUSR2' },
  // Timers nobody here set (`kill -ALRM` to the wrong pid).
  SIGALRM: { alone: 'ignore', withMain: 'ignore' },
  SIGVTALRM: { alone: 'ignore', withMain: 'ignore' },
  SIGPROF: { alone: 'ignore', withMain: 'ignore' },
}

/** A storm of ignored signals (20,000 SIGUSR1 wrote 1,461 lines) is one line a second per signal. */
const ignoredLines = new LogThrottle()

const ignored = (log: Logger, signal: string) => () => {
  const skipped = ignoredLines.admit(signal)
  if (skipped !== undefined) log.warn('signal ignored', skipped ? { signal, skipped } : { signal })
}

/** execd alone: each signal of the table stops it or is ignored; but those in `otherUse`. */
export function stopOnSignals(stop: (signal: string) => void, log: Logger, otherUse: readonly string[] = []): void {
  for (const [signal, use] of Object.entries(SIGNALS)) {
    if (otherUse.includes(signal)) continue
    process.on(signal, use.alone === 'stop' ? () => stop(signal) : ignored(log, signal))
  }
}

/** With a main process: each signal of the table is passed on to it (`forward`) or ignored. */
export function forwardOnSignals(forward: (signal: string, as: NodeJS.Signals) => void, log: Logger): void {
  for (const [signal, use] of Object.entries(SIGNALS)) {
    const as = use.withMain
    process.on(signal, as === 'ignore' ? ignored(log, signal) : () => forward(signal, as))
  }
}
