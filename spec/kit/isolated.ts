/**
 * What the isolated-session spec files share beside their daemon (kit/daemon-dir.ts): the daemon
 * with a workspace and a dir its sessions may bind, the SDK's IsolationService, a run's stdout
 * lines, and a temp dir outside /tmp.
 */
import { mkdirSync, mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import type { Daemon } from '../harness'
import { sdkFor } from '../sdk'
import { daemonWithDir, type DaemonDir } from './daemon-dir'

export interface IsolatedDaemon extends DaemonDir {
  /** A workspace for sessions: `ws` in the temp dir. */
  ws: string
  /** A dir the daemon lets sessions bind (`--isolated-binds`): `allowed` in the temp dir. */
  allowed: string
}

/** daemonWithDir with the two dirs made; `seed` may fill them before the daemon starts. */
export function isolatedDaemon(name: string, seed: (fx: IsolatedDaemon) => void): IsolatedDaemon {
  const fx = daemonWithDir(name, tmp => {
    fx.ws = join(tmp, 'ws')
    fx.allowed = join(tmp, 'allowed')
    mkdirSync(fx.ws)
    mkdirSync(fx.allowed)
    seed(fx)
    return ['--isolated-binds', fx.allowed]
  }) as IsolatedDaemon
  return fx
}

export const isolationOf = (d: Daemon) => sdkFor(d).isolation!

export const stdoutOf = (e: { logs: { stdout: { text: string }[] } }) => e.logs.stdout.map(l => l.text)

/**
 * A fresh dir under /var/tmp, outside /tmp as a TMPDIR on a volume or a mounted secret is (a
 * balanced session's / shows it); undefined where it cannot be made. The caller removes it.
 */
export function outsideTmpDir(prefix: string): string | undefined {
  try {
    return mkdtempSync(`/var/tmp/${prefix}`)
  } catch {
    return undefined
  }
}
