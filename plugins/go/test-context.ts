/** Shared by this runtime's unit tests: start a go context, collect a cell's events. */
import { childEnv } from '../../core/child-env'
import { resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { go } from '.'
import { findGo } from './toolchain'
import { tempDirs } from '../../spec/kit/test-roots'

/** Why go tests cannot run here, or undefined when a Go toolchain is installed. */
export const noGo = await (async () => {
  const tc = await findGo(process.env.EXECD_GO || 'go')
  return 'missing' in tc ? tc.missing : undefined
})()

/**
 * The bound of a test that builds go (each cell is a `go build`; a test runs up to four): a cell
 * took 1–5 s at load 12 on 2 cores, and Bun's default of 5 s, which `bun test plugins` keeps
 * (make's tiers pass 60 s), failed 16 of 34: a timed-out cell left the file's shared context
 * busy, and the tests after it failed at once ("a cell is already running").
 */
export const GO_TEST_TIMEOUT_MS = 60_000

const temp = tempDirs('execd-go-test-')
export const tempDir = temp.make
export const removeTempDirs = temp.removeAll

export function startGo(cwd = tempDir(), flags: Record<string, string> = {}): Promise<RuntimeContext> {
  return go.start({
    language: 'go',
    cwd,
    env: childEnv(),
    config: resolveConfig(go.options ?? [], flags),
    log: createLogger('silent'),
  })
}

export { errorOf, resultOf, runCell, startCell, textOf } from '../../spec/kit/cell-events'
