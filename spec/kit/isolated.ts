/**
 * The fixture the isolated-session spec files share: a temp dir and a daemon of their own per
 * file, the SDK's IsolationService, and a run's stdout lines.
 */
import { afterAll, beforeAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../harness'
import { sdkFor } from '../sdk'

export interface IsolatedDaemon {
  /** Set before the file's first test. */
  d: Daemon
  tmp: string
}

/** Registers the file's setup: `args` may prepare the temp dir and give the daemon's flags. */
export function isolatedDaemon(name: string, args: (tmp: string) => string[] = () => []): IsolatedDaemon {
  const fx = {} as IsolatedDaemon
  beforeAll(async () => {
    fx.tmp = mkdtempSync(join(tmpdir(), `execd-spec-${name}-`))
    fx.d = await startDaemon({ args: args(fx.tmp) })
  })
  afterAll(async () => {
    await fx.d?.stop()
    rmSync(fx.tmp, { recursive: true, force: true })
  })
  return fx
}

export const isolationOf = (d: Daemon) => sdkFor(d).isolation!

export const stdoutOf = (e: { logs: { stdout: { text: string }[] } }) => e.logs.stdout.map(l => l.text)
