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
function ownWorker(worker: { terminate(): unknown }): void {
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
function inScopeOfNow<A extends unknown[]>(listener: (...a: A) => unknown): (...a: A) => unknown {
  const scope = scopes.getStore()
  return scope ? (...a: A) => scopes.run(scope, () => listener(...a)) : listener
}

/**
 * What a cell's code writes or starts past console and process.stdout (the driver checks those
 * where it captures them): Bun.write and node:fs writes to fds 1 and 2, workers, signal
 * listeners. Installed once, after the driver's own signal handlers: a cell's are added after.
 */
export function scopeWhatCellsStart(proc: NodeJS.Process): void {
  scopeRawWrites()
  ownWorkers()
  scopeSignalListeners(proc)
}

/**
 * Bun.write to stdout or stderr reaches the raw fds, which execd gives to whichever cell runs:
 * an interrupted cell's loop of them wrote into every later cell. Checked as console's writes,
 * and so are node:fs's writes to fd 1 and 2 (the module's one object: `import` sees it too).
 * (A raw write by other means, `Bun.stdout.writer()`, a subprocess, carries no cell: not caught.)
 */
function scopeRawWrites(): void {
  const bunWrite = Bun.write
  const raw = new Set<unknown>([Bun.stdout, Bun.stderr, 1, 2])
  Bun.write = ((dest: unknown, ...rest: unknown[]) => {
    if (raw.has(dest)) checkScope()
    return (bunWrite as (...a: unknown[]) => unknown)(dest, ...rest)
  }) as typeof Bun.write
  const fs = require('node:fs') as Record<string, unknown>
  for (const name of ['writeSync', 'write', 'writevSync', 'writev']) {
    const write = fs[name] as (fd: unknown, ...a: unknown[]) => unknown
    fs[name] = (fd: unknown, ...rest: unknown[]) => {
      if (fd === 1 || fd === 2) checkScope()
      return write(fd, ...rest)
    }
  }
}

/** Workers a cell starts (the global one and node:worker_threads') end with its interrupt. */
function ownWorkers(): void {
  const owned = <T extends new (...a: any[]) => { terminate(): unknown }>(Base: T): T =>
    class extends Base {
      constructor(...args: any[]) {
        super(...args)
        ownWorker(this)
      }
    }
  globalThis.Worker = owned(globalThis.Worker)
  const threads = require('node:worker_threads') as Record<string, unknown>
  threads.Worker = owned(threads.Worker as new (...a: any[]) => { terminate(): unknown })
}

/**
 * A cell's signal listeners run in its scope (inScopeOfNow). The one added is remembered against
 * the cell's function, so `off`/`removeListener` of it still work.
 */
function scopeSignalListeners(proc: NodeJS.Process): void {
  const scoped = new WeakMap<Function, Function>()
  const target = proc as unknown as Record<string, Function>
  const forSignal = (event: unknown) => typeof event === 'string' && /^SIG[A-Z0-9]+$/.test(event)
  for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']) {
    const add = target[name]!.bind(proc)
    target[name] = (event: unknown, listener: Function) => {
      if (!forSignal(event) || typeof listener !== 'function') return add(event, listener)
      const bound = inScopeOfNow(listener as (...a: unknown[]) => unknown)
      if (bound !== listener) scoped.set(listener, bound)
      return add(event, bound)
    }
  }
  for (const name of ['off', 'removeListener']) {
    const remove = target[name]!.bind(proc)
    target[name] = (event: unknown, listener: Function) => remove(event, scoped.get(listener) ?? listener)
  }
}
