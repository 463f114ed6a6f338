/** Shared by this runtime's unit tests: start a context, collect a cell's events. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Config } from '../../core/config'
import type { ExecEvent } from '../../core/events'
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

export function startJs(language = 'javascript', cwd = tempDir(), values: Record<string, string> = {}): Promise<RuntimeContext> {
  const config = new Config(values, javascript.options ?? [])
  const log = createLogger('silent')
  return javascript.start({ language, cwd, env: process.env as Record<string, string>, config, log })
}

export async function runCell(ctx: RuntimeContext, code: string): Promise<ExecEvent[]> {
  const events: ExecEvent[] = []
  for await (const e of ctx.run(code)) events.push(e)
  return events
}

export const resultOf = (events: ExecEvent[]) => events.filter(e => e.type === 'result').at(-1)?.results
export const errorOf = (events: ExecEvent[]) => events.find(e => e.type === 'error')?.error
export const textOf = (events: ExecEvent[], type: 'stdout' | 'stderr') =>
  events.filter(e => e.type === type).map(e => e.text).join('')
