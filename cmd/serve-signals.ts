/**
 * What serve does with the signals whose default action ends a process (and a terminal's resize),
 * alone and as the container's entrypoint (`serve -- <command>`, cmd/entrypoint.ts): one table for both modes.
 * Any of them left to that action killed execd on the spot: no shutdown, every command, session
 * and interpreter group left running without its owner, the temp dir left full, and as an
 * entrypoint the main process left without the execd it follows. So each one stops execd as
 * SIGTERM does, is passed on to the main process (whose exit ends execd), or is ignored (and
 * logged: someone sent it for a reason). SIGUSR2 to execd alone asks who holds the slots of
 * every capped pool of the app serve made (core/app.ts `held`): one log line, how the fuzz tells a
 * leak from a burst.
 * SIGSTKFLT and SIGIO cannot be caught under Bun; SIGPIPE, SIGXFSZ and SIGPWR it ignores already.
 */
import type { Held } from '../core/held-slots'
import type { Logger } from '../core/log'
import { LogThrottle } from '../core/log-throttle'

interface SignalUse {
  /**
   * execd on its own: stop as SIGTERM does, ignore, log who holds the pools, or leave the signal
   * to its default action (one that ends nothing).
   */
  alone: 'stop' | 'ignore' | 'report' | 'default'
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
  SIGUSR2: { alone: 'report', withMain: 'SIGUSR2' },
  // Timers nobody here set (`kill -ALRM` to the wrong pid).
  SIGALRM: { alone: 'ignore', withMain: 'ignore' },
  SIGVTALRM: { alone: 'ignore', withMain: 'ignore' },
  SIGPROF: { alone: 'ignore', withMain: 'ignore' },
  // A terminal's resize, ignored by default: the main process's own (a shell, an editor redraws).
  // A terminal sends it to its foreground group, the main process in it; a resize told by `kill`
  // (tini's way, or a runtime's that resizes a terminal execd is not in) reached nobody.
  SIGWINCH: { alone: 'default', withMain: 'SIGWINCH' },
}

/** A storm of ignored signals (20,000 SIGUSR1 wrote 1,461 lines) is one line a second per signal. */
const ignoredLines = new LogThrottle()

const ignored = (log: Logger, signal: string) => () => {
  const skipped = ignoredLines.admit(signal)
  if (skipped !== undefined) log.warn('signal ignored', skipped ? { signal, skipped } : { signal })
}

/**
 * A storm of SIGUSR2 is ten lines a second: the fuzz asks every 100 ms or so while it waits for
 * the pools to drain. At warn, so that it shows at the level execd is usually run at.
 */
const reportLines = new LogThrottle(100)

const report = (log: Logger, held: () => Held[]) => () => {
  const skipped = reportLines.admit('held')
  if (skipped !== undefined) log.warn('slots held', { pools: held(), skipped })
}

/**
 * execd alone: each signal of the table stops it, is ignored or reports the pools `held` lists
 * (the app's: core/app.ts); but those in `otherUse`.
 */
export function stopOnSignals(
  stop: (signal: string) => void,
  log: Logger,
  held: () => Held[],
  otherUse: readonly string[] = [],
): void {
  const handlers = new Map<string, () => void>()
  for (const [signal, use] of Object.entries(SIGNALS)) {
    if (otherUse.includes(signal) || use.alone === 'default') continue
    const on =
      use.alone === 'stop' ? () => stop(signal) : use.alone === 'report' ? report(log, held) : ignored(log, signal)
    handlers.set(signal, on)
  }
  install(handlers)
}

/** With a main process: each signal of the table is passed on to it (`forward`) or ignored. */
export function forwardOnSignals(forward: (signal: string, as: NodeJS.Signals) => void, log: Logger): void {
  const handlers = new Map<string, () => void>()
  for (const [signal, use] of Object.entries(SIGNALS)) {
    const as = use.withMain
    handlers.set(signal, as === 'ignore' ? ignored(log, signal) : () => forward(signal, as))
  }
  install(handlers)
}

/**
 * The signals of the table that came while serve started, held from its first line until the
 * mode's own handlers are in place: left to their default action in that window, a SIGTERM as
 * the port opened (a supervisor's stop right after the start, `docker stop`) killed execd on the
 * spot, 143 with no shutdown, 7 times in 8 when sent the moment execd said it listened.
 */
let held: { signal: string; on: () => void }[] | undefined
const pending: string[] = []

export function holdSignals(): void {
  if (held) return
  held = Object.keys(SIGNALS).map(signal => {
    const on = () => void pending.push(signal)
    process.on(signal, on)
    return { signal, on }
  })
}

/** The mode's handlers in place of the holding ones; what was held is handled by them, in order. */
function install(handlers: Map<string, () => void>): void {
  for (const [signal, on] of handlers) process.on(signal, on)
  for (const { signal, on } of held ?? []) process.off(signal, on)
  held = undefined
  for (const signal of pending.splice(0)) handlers.get(signal)?.()
}
