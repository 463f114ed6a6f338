/**
 * The fixtures most spec files want: a daemon of the file's own, and a temp dir beside it,
 * started before the file's first test, stopped and removed after its last.
 */
import { afterAll, beforeAll } from 'bun:test'
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../harness'

export interface DaemonDir {
  /** Set before the file's first test. */
  d: Daemon
  /** Its real path (a TMPDIR through a symlink would not match the paths the daemon answers). */
  tmp: string
}

/** How the daemon starts: its flags, or what startDaemon takes (flags, environment, token…). */
type Start = string[] | Parameters<typeof startDaemon>[0]

const started = (how: Start) => startDaemon(Array.isArray(how) ? { args: how } : how)

/** Registers the file's setup: `start` may prepare the temp dir and gives the daemon's flags (and env). */
export function daemonWithDir(name: string, start: (tmp: string) => Start = () => []): DaemonDir {
  const fx = {} as DaemonDir
  beforeAll(async () => {
    fx.tmp = realpathSync(mkdtempSync(join(tmpdir(), `execd-spec-${name}-`)))
    fx.d = await started(start(fx.tmp))
  })
  afterAll(async () => {
    await fx.d?.stop()
    rmSync(fx.tmp, { recursive: true, force: true })
  })
  return fx
}

/** The daemon alone, for a file that makes its temp dirs itself (or none). */
export function daemonAlone(start: () => Start = () => []): { d: Daemon } {
  const fx = {} as { d: Daemon }
  beforeAll(async () => {
    fx.d = await started(start())
  })
  afterAll(async () => {
    await fx.d?.stop()
  })
  return fx
}
