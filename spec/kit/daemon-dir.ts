/**
 * The fixture most spec files want: a daemon of the file's own and a temp dir beside it, started
 * before the file's first test, stopped and removed after its last.
 */
import { afterAll, beforeAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../harness'

export interface DaemonDir {
  /** Set before the file's first test. */
  d: Daemon
  tmp: string
}

/** How the daemon starts: its flags, or its flags and environment. */
type Start = string[] | { args?: string[]; env?: Record<string, string> }

/** Registers the file's setup: `start` may prepare the temp dir and gives the daemon's flags (and env). */
export function daemonWithDir(name: string, start: (tmp: string) => Start = () => []): DaemonDir {
  const fx = {} as DaemonDir
  beforeAll(async () => {
    fx.tmp = mkdtempSync(join(tmpdir(), `execd-spec-${name}-`))
    const how = start(fx.tmp)
    fx.d = await startDaemon(Array.isArray(how) ? { args: how } : how)
  })
  afterAll(async () => {
    await fx.d?.stop()
    rmSync(fx.tmp, { recursive: true, force: true })
  })
  return fx
}
