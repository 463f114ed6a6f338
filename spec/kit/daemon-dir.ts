/**
 * The fixtures most spec files want: a daemon of the file's own, and a temp dir beside it,
 * started before the file's first test, stopped and removed after its last.
 */
import { afterAll, beforeAll } from 'bun:test'
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../harness'
import { Mounts } from './mounts'

export interface DaemonDir {
  /** Set before the file's first test. */
  d: Daemon
  /** Its real path (a TMPDIR through a symlink would not match the paths the daemon answers). */
  tmp: string
  /** Mounts made in the temp dir: undone after the daemon stops, before the dir is removed. */
  mounts: Mounts
}

/**
 * How the daemon starts: its flags, or what startDaemon takes (flags, environment, token…);
 * null: no daemon, for a file whose tests all skip (what they need is not on this machine).
 */
export type Start = string[] | Parameters<typeof startDaemon>[0] | null

/**
 * `timeout`: the hooks' bound (ms) where setting up takes longer than the tier's per-test 60 s
 * (200,000 files made, a walk's 2,000), or is bounded tighter; else the tier's.
 */
export interface Hooks {
  timeout?: number
}

const started = async (how: Start) =>
  how === null ? undefined : await startDaemon(Array.isArray(how) ? { args: how } : how)

const madeDir = (name: string) => realpathSync(mkdtempSync(join(tmpdir(), `execd-spec-${name}-`)))

/** The temp dir made (unless it was), the daemon started, both gone after the last test. */
function withDir(name: string, fx: DaemonDir, start: (tmp: string) => Start, { timeout }: Hooks): DaemonDir {
  beforeAll(async () => {
    fx.tmp ??= madeDir(name)
    fx.d = (await started(start(fx.tmp)))!
  }, timeout)
  afterAll(async () => {
    await fx.d?.stop()
    fx.mounts.undo()
    if (fx.tmp) rmSync(fx.tmp, { recursive: true, force: true })
  }, timeout)
  return fx
}

/** Registers the file's setup: `start` may prepare the temp dir and gives the daemon's flags (and env). */
export function daemonWithDir(name: string, start: (tmp: string) => Start = () => [], hooks: Hooks = {}): DaemonDir {
  return withDir(name, { mounts: new Mounts() } as DaemonDir, start, hooks)
}

/**
 * daemonWithDir for a file that names paths in its temp dir as it loads (its tables of cases,
 * its constants, a mount that probes whether mounts can be made): the dir is made at once.
 */
export function daemonWithDirAtLoad(
  name: string,
  start: (tmp: string) => Start = () => [],
  hooks: Hooks = {},
): DaemonDir {
  return withDir(name, { tmp: madeDir(name), mounts: new Mounts() } as DaemonDir, start, hooks)
}

/** The daemon alone, for a file that makes its temp dirs itself (or none). */
export function daemonAlone(start: () => Start = () => [], { timeout }: Hooks = {}): { d: Daemon } {
  const fx = {} as { d: Daemon }
  beforeAll(async () => {
    fx.d = (await started(start()))!
  }, timeout)
  afterAll(async () => {
    await fx.d?.stop()
  }, timeout)
  return fx
}

/**
 * A daemon whose TMPDIR is the fixture's dir made world-writable, as /tmp is: where another
 * user (the test, as uid 65534) can put a dir of theirs at one of execd's temp names.
 */
export const daemonInSharedTmp = (name: string): DaemonDir =>
  daemonWithDir(name, tmp => {
    Bun.spawnSync(['chmod', '1777', tmp])
    return { env: { TMPDIR: tmp } }
  })
