/**
 * Shared by this runtime's unit tests: the interpreter they drive, a context started straight on
 * it (no runtime plugin, no HTTP), and the closing of every context a test started.
 */
import { createLogger } from '../../core/log'
import { PythonContext } from './context'

export const PYTHON = process.env.EXECD_PYTHON || 'python3'
/** Whether PYTHON is a python3 the driver runs on (>= 3.8); the tests skip visibly without one. */
export const available = Bun.spawnSync([PYTHON, '-c', 'import sys; assert sys.version_info >= (3, 8)']).exitCode === 0

const log = createLogger('silent')
const started: PythonContext[] = []

/** A context in this process's cwd and environment; `driverCode` stands for the embedded driver. */
export async function startPython(driverCode?: Uint8Array): Promise<PythonContext> {
  const ctx = await PythonContext.start({
    python: PYTHON,
    cwd: process.cwd(),
    env: process.env as Record<string, string>,
    log,
    driverCode,
  })
  started.push(ctx)
  return ctx
}

/** For afterEach: closes every context started since the last call. */
export async function closeStarted(): Promise<void> {
  await Promise.all(started.splice(0).map(c => c.close()))
}

export { runCell } from '../../spec/kit/cell-events'
