/** Shared by this runtime's unit tests: start a context, collect a cell's events. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../core/config'
import { createLogger } from '../../core/log'
import type { RuntimeContext } from '../../core/plugin'
import { javascript } from '.'
import { removeDriverFiles } from './driver-files'

const dirs: string[] = []

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'execd-js-test-'))
  dirs.push(dir)
  return dir
}

/** For afterAll: removes the temp dirs of this file's tests and the driver's files. */
export async function removeTempFiles(): Promise<void> {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
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
