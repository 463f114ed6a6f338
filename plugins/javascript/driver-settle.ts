/**
 * Interpreter side (runs in the child, embedded as text): the end of a one-shot run, as node's.
 * `node -e` exits once its loop has nothing left to wait for: timers, sockets, a pending fetch,
 * `Bun.sleep`, `timers/promises`, a child process. A cell ends at its last statement, and the
 * CLI closed the context then, losing whatever the program still had to do. Bun lists none of
 * it (`process.getActiveResourcesInfo()` is empty), and a list of timers kept by wrapping the
 * globals missed everything else; but Bun's loop knows: once the channel to execd no longer
 * keeps the process alive, the interpreter exits by itself when the program's work is done,
 * with `process.exitCode`, and execd reports that exit as the waiting cell's end. A context
 * over HTTP never waits: its cells end as before, their work going on (as in Jupyter).
 */

const proc = process

interface KeepsAlive {
  ref(): void
  unref(): void
}

/** The channel to execd, as far as it is asked: whether it keeps the process alive. */
let channel: KeepsAlive | undefined

/** The driver's channel to execd (driver-channel.ts), once it is read. */
export function settleWith(c: KeepsAlive): void {
  channel = c
}

/** While a settle waits: an uncaught error ends it, as it ends node. */
let failSettle: ((e: unknown) => void) | undefined
/** An uncaught error came (the driver said it then): node has exited 1 by now. */
let failedBefore = false

/**
 * Never resolves: the process exits once the program's work is done (execd tells the cell it
 * died with `exit status N`, N the exitCode). Rejects with the first uncaught error meanwhile,
 * which node would print before exiting 1. A cell awaiting it is interrupted as any other.
 */
export function settle(): Promise<never> {
  if (failedBefore) proc.exit(1)
  // A Bun without the channel's handle: nothing to wait with, the run ends as before.
  if (!channel) return Promise.resolve() as Promise<never>
  const failed = new Promise<never>((_, reject) => (failSettle = reject))
  channel.unref()
  return failed
}

/** An interrupt (Ctrl-C, --timeout) ends the wait: execd's channel keeps the process again. */
export function stopSettle(): void {
  if (!failSettle) return
  failSettle = undefined
  channel?.ref()
}

/** Hands an uncaught error to a settle that waits; false when none does (the driver reports it). */
export function settleFailed(e: unknown): boolean {
  const waiting = failSettle
  if (!waiting) return !(failedBefore = true)
  stopSettle()
  waiting(e)
  return true
}
