/** Shared by this runtime's unit tests: start a context, collect a cell's events. */
import { Config } from '../../core/config'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { javascript } from '.'
import { removeDriverFiles } from './driver-files'
import { tempDirs } from '../../spec/kit/test-roots'

const temp = tempDirs('execd-js-test-')
export const tempDir = temp.make

/** For afterAll: removes the temp dirs of this file's tests and the driver's files. */
export async function removeTempFiles(): Promise<void> {
  temp.removeAll()
  await removeDriverFiles()
}

export function startJs(
  language = 'javascript',
  cwd = tempDir(),
  values: Record<string, string> = {},
): Promise<RuntimeContext> {
  const config = new Config(values, javascript.options ?? [])
  const log = createLogger('silent')
  return javascript.start({ language, cwd, env: process.env as Record<string, string>, config, log })
}

export { errorOf, resultOf, runCell, startCell, textOf } from '../../spec/kit/cell-events'
