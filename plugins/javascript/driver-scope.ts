/**
 * Interpreter side (runs in the child, embedded as text): which cell the code writing output
 * belongs to. An interrupt settles the awaiting cell, but JavaScript cannot stop an async
 * function: a cell `for (;;) { console.log(…); await Bun.sleep(0) }` went on after its `done`,
 * and its lines reached the next cells' streams, without end. Each cell runs in a scope that
 * follows its awaits, timers and callbacks (AsyncLocalStorage); once the cell is interrupted,
 * its code's next write, display or `process.send` throws the interrupt instead of writing, so a
 * loop that outputs ends there, and nothing of it lands after its `done`.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

interface CellScope {
  interrupted: Error | undefined
  /** Workers its code started: ended with its interrupt (a worker's own console is the raw fd 1). */
  workers?: Set<{ terminate(): unknown }>
}

const scopes = new AsyncLocalStorage<CellScope>()
/** The running cell's scope, until its run is over. */
let running: CellScope | undefined
/** The errors thrown at an interrupted cell's writes: said once already, by its `done`. */
const thrown = new WeakSet<object>()

/** Runs `body` (the cell's evaluation) in a scope of its own: what it starts carries it. */
export function inCellScope<T>(body: () => T): T {
  const scope: CellScope = { interrupted: undefined }
  running = scope
  return scopes.run(scope, body)
}

/** The cell's run is over: an interrupt after it concerns no scope of its. */
export function leaveCellScope(): void {
  running = undefined
}

/** Marks the running cell interrupted by `e`: its code writes no more from here on. */
export function interruptScope(e: Error): void {
  if (!running) return
  running.interrupted = e
  for (const worker of running.workers ?? []) {
    try {
      void worker.terminate()
    } catch {}
  }
  running.workers = undefined
}

/**
 * A worker was just started by the code running now: its cell's interrupt ends it. Its lines
 * went on into every later cell's stdout (a worker logs through its own console, fd 1 itself,
 * which no scope reaches). One started by an interrupted cell's code is refused, as its writes are.
 */
export function ownWorker(worker: { terminate(): unknown }): void {
  const scope = scopes.getStore()
  if (!scope) return
  if (scope.interrupted) {
    void worker.terminate()
    checkScope()
  }
  ;(scope.workers ??= new Set()).add(worker)
  // One that ends on its own is not held (nor terminated again) for the cell's life.
  const forget = () => scope.workers?.delete(worker)
  const events = worker as {
    addEventListener?: (e: string, f: () => void) => void
    on?: (e: string, f: () => void) => void
  }
  if (events.on) events.on('exit', forget)
  else events.addEventListener?.('close', forget)
}

/**
 * Called before any output of a cell's code: throws the interrupt where the code writing
 * belongs to an interrupted cell (a fresh error each time, its stack the writer's).
 */
export function checkScope(): void {
  const interrupted = scopes.getStore()?.interrupted
  if (!interrupted) return
  const e = new Error(interrupted.message)
  e.name = interrupted.name
  thrown.add(e)
  throw e
}

/** Whether an uncaught error is one `checkScope` threw (a timer of an interrupted cell): not reported. */
export const thrownByScope = (e: unknown): boolean => typeof e === 'object' && e !== null && thrown.has(e)

/**
 * `listener` as it runs in the scope of the code that added it: a signal listener ran in no
 * cell's scope, so one an interrupted cell left wrote into whichever cell raised the signal. Once
 * its cell is interrupted its writes throw (silently: thrownByScope). Outside any cell, as it is.
 */
export function inScopeOfNow<A extends unknown[]>(listener: (...a: A) => unknown): (...a: A) => unknown {
  const scope = scopes.getStore()
  return scope ? (...a: A) => scopes.run(scope, () => listener(...a)) : listener
}
