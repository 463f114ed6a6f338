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
