/**
 * Interpreter side (runs in the child, embedded as text): the cells' pending timers, so that a
 * one-shot run can wait for them as a script run by node does. `node -e
 * 'setTimeout(() => { console.log("late"); process.exitCode = 4 }, 300)'` prints late and exits
 * 4; a cell ends at its last statement, and the CLI closed the context before the timer fired.
 * Bun keeps no list of them (`process.getActiveResourcesInfo()` is empty), so the global
 * setTimeout and setInterval that cells call record what they make. A context over HTTP never
 * waits on them: a cell there ends as before, its timers firing later (as in Jupyter).
 */

/** What either maker returns, as far as it is asked: whether it still keeps the loop alive. */
interface Timer {
  hasRef(): boolean
}

/** Timers the cells made and that have not fired (a timeout) or been cleared. */
const pending = new Set<Timer>()
let wake: (() => void) | undefined
/** While a settle waits: an uncaught error ends it, as it ends node. */
let failSettle: ((e: unknown) => void) | undefined
/** An uncaught error before the settle (the driver said it then): the run still failed. */
let failedBefore = false

/** How often a settle looks again without a wake (a timer closed through its own `close()`). */
const RECHECK_MS = 50

const realSetTimeout = globalThis.setTimeout
const realSetInterval = globalThis.setInterval
const realClearTimeout = globalThis.clearTimeout
const realClearInterval = globalThis.clearInterval

const forget = (timer: unknown) => {
  // clearInterval(+t) clears by the timer's number, as node's does: an interval forgotten by its
  // object only was waited on for good.
  const found = typeof timer === 'number' ? [...pending].find(t => Number(t) === timer) : timer
  if (pending.delete(found as Timer)) wake?.()
}

/** Replaces the globals a cell sees; the driver's own timers use the real ones, unseen. */
export function trackTimers(): void {
  const g = globalThis as Record<string, unknown>
  g.setTimeout = Object.assign((fn: unknown, ms?: number, ...args: unknown[]) => {
    if (typeof fn !== 'function') return realSetTimeout(fn as () => void, ms, ...args)
    const timer = realSetTimeout(
      (...a: unknown[]) => {
        let threw = true
        try {
          const out = fn(...a)
          threw = false
          return out
        } finally {
          // One that threw is forgotten once its error has reached the settle: woken first, the
          // settle ended with no timer left and the error came to nobody (exit 0).
          if (threw) realSetTimeout(() => forget(timer), 0)
          else forget(timer)
        }
      },
      ms,
      ...args,
    )
    pending.add(timer)
    return timer
  }, realSetTimeout)
  g.setInterval = Object.assign((fn: () => void, ms?: number, ...args: unknown[]) => {
    const timer = realSetInterval(fn, ms, ...args)
    pending.add(timer)
    return timer
  }, realSetInterval)
  g.clearTimeout = (timer?: Parameters<typeof clearTimeout>[0]) => (realClearTimeout(timer), forget(timer))
  g.clearInterval = (timer?: Parameters<typeof clearInterval>[0]) => (realClearInterval(timer), forget(timer))
}

/** The timers node would wait for: live and not unref'd (one that is no longer is dropped). */
function live(): number {
  for (const timer of pending) if (!timer.hasRef()) pending.delete(timer)
  return pending.size
}

/**
 * Resolves when no timer of the cells is left to fire, as node's loop runs dry; rejects with
 * the first uncaught error meanwhile (node exits 1 on it). The cell that awaits it is
 * interrupted as any other (Ctrl-C, a timeout).
 */
export async function settle(): Promise<void> {
  // Said already (a timer that fired before the CLI's settle came): node has exited 1 by now.
  if (failedBefore) return void ((failedBefore = false), (process.exitCode = 1))
  const failed = new Promise<never>((_, reject) => (failSettle = reject))
  try {
    while (live() > 0) {
      const next = new Promise<void>(resolve => {
        wake = resolve
        realSetTimeout(resolve, RECHECK_MS)
      })
      await Promise.race([next, failed])
    }
  } finally {
    wake = undefined
    failSettle = undefined
  }
}

/** Hands an uncaught error to a settle that waits; false when none does (the driver reports it). */
export function settleFailed(e: unknown): boolean {
  if (!failSettle) return !(failedBefore = true)
  failSettle(e)
  return true
}
