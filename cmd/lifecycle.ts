/**
 * A verb's life and death. SIGTERM, SIGINT, SIGHUP and SIGQUIT always end a verb: its own stop (an
 * interrupt, a close) is asked first; if the verb has not finished within the grace period,
 * the cleanups run and execd exits 128 + the signal anyway. Whatever the path out — a return,
 * a throw, a signal, process.exit — every owned process group is killed (core/process.ts's
 * exit hook) and every registered cleanup (a half-written download) runs once.
 */
import { constants } from 'node:os'
import { isatty } from 'node:tty'
import { killAllNow, ownProcessesUntilExit, signalAllOwned } from '../core/process'
import { devNullOnto } from '../core/dev-null-onto'
import { stopKeyEchoed } from './paced-output'

// SIGQUIT (Ctrl-\ at a terminal) too: left to its default action it ended execd on the spot and
// left what the verb had started running without it (a python cell's interpreter, orphaned).
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const
export type StopSignal = (typeof STOP_SIGNALS)[number]

/** Beyond the children's own grace (SIGTERM → SIGKILL), time for the verb to say its last word. */
const MARGIN_MS = 1000

const cleanups = new Set<() => void>()

/** Runs `fn` (synchronous: it may run from the exit hook) when execd exits, unless disposed first. */
export function atExit(fn: () => void): () => void {
  cleanups.add(fn)
  return () => void cleanups.delete(fn)
}

function runCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn)
    try {
      fn()
    } catch {
      // an exit path must finish: a cleanup that fails is skipped
    }
  }
}

let installed = false
let received: StopSignal | undefined
let stopper: ((signal: StopSignal, count: number) => void) | undefined
/** The current stop's grace: the handlers are installed once, by the first onStop, whose grace they kept. */
let grace = 2000
/** The current stop's signals that arm no deadline: the verb ends by itself, or at the next signal. */
let patient: readonly StopSignal[] = []
let count = 0
/** The deadline of the verb being stopped; cleared once it has ended by itself. */
let deadline: ReturnType<typeof setTimeout> | undefined

/** The exit status a shell gives a process ended by `signal`. */
export const signalExit = (signal: StopSignal): number => 128 + constants.signals[signal]

/**
 * A run stopped by its own --timeout, in every verb and mode: `timeout(1)`'s status, the one a
 * shell user knows (and scripts test for). The stop's own signal said it before (143 for a
 * command, 130 for an isolated run, 1 for a cell), read as the person's SIGTERM or Ctrl-C.
 */
export const TIMEOUT_EXIT = 124

/** The stop signal received so far, if any (a verb that ends because of it exits signalExit). */
export const stopSignal = (): StopSignal | undefined => received

/** Forgets the signals so far: a prompt goes on after Ctrl-C interrupted one of its cells. */
export function resetStop(): void {
  received = undefined
  count = 0
  clearTimeout(deadline)
}

/**
 * Installs the handlers (once per process) and sets what the current verb does on a signal.
 * Without a `stop`, or when the verb has not ended `graceMs` after the signal, execd exits;
 * after one of `waitFor`, only at a second signal.
 */
export function onStop(
  stop?: (signal: StopSignal, count: number) => void,
  graceMs = 2000,
  waitFor: readonly StopSignal[] = [],
): () => void {
  stopper = stop
  grace = graceMs
  patient = waitFor
  if (!installed) {
    installed = true
    // CLI verbs own their children too: none may outlive execd, whichever way it exits.
    ownProcessesUntilExit(undefined, false)
    process.on('exit', runCleanups)
    // Ctrl-Z stops the terminal's foreground group, and that is execd alone: each child leads a
    // session of its own. Left to the default, execd stopped and its command ran on unseen (a
    // loop, a build, a cell) until `fg`. Its children stop first now, then execd; `fg` (SIGCONT)
    // lets them go on together.
    process.on('SIGTSTP', () => void suspend().catch(() => {}))
    process.on('SIGCONT', () => void signalAllOwned('SIGCONT').catch(() => {}))
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        received ??= signal
        count++
        if (signal === 'SIGINT' || signal === 'SIGQUIT') stopKeyEchoed()
        if (!stopper || count > 1) return exitNow(signal)
        if (!patient.includes(signal)) {
          deadline = setTimeout(() => exitNow(signal), grace + MARGIN_MS)
          deadline.unref?.()
        }
        stopper(signal, count)
      })
    }
  }
  return () => {
    if (stopper !== stop) return
    stopper = undefined
    patient = []
    clearTimeout(deadline)
  }
}

async function suspend(): Promise<void> {
  try {
    await signalAllOwned('SIGSTOP')
  } finally {
    process.kill(process.pid, 'SIGSTOP')
  }
}

function exitNow(signal: StopSignal): never {
  killAllNow()
  runCleanups()
  process.exit(signalExit(signal))
}

/**
 * Lets go of the terminal before an exit from its background (`kill %1` of a stopped prompt):
 * Bun puts back the modes it found at start as it exits, and from the background that change
 * stopped execd again (`Stopped (tty output)`) until `fg`. /dev/null stands in for it (its modes
 * cannot be set: nothing is asked of the terminal), not SIGTTOU ignored: that let the old modes
 * reach the shell's own prompt, which echoed the next line typed twice. Bun sets them on stdout
 * and stderr too, which were still the terminal: that set went through (strace: TCSETS on 1
 * and 2, 0 each time, no SIGTTOU), echo and line mode under bash's line editor, the next line
 * shown twice. What execd would still print from the background after this goes nowhere.
 */
export function leaveTerminal(): void {
  // No FFI or no /dev/null: the exit waits for `fg`, as before.
  devNullOnto(
    [0, 1, 2].filter(fd => isatty(fd)),
    'r+',
  )
}
