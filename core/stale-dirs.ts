/**
 * Temp dirs whose owner is gone (core/temp-dir.ts): the owner's lock, a unix socket it listens on
 * in the dir (`.owner.sock`), how a lock is probed (held, refused, none), and the sweep that
 * removes the dirs of a prefix whose lock nobody holds. A connect refused proves the owner dead
 * where a pid cannot (another pid namespace sharing the TMPDIR).
 */
import { closeSync, constants, lstatSync, mkdtempSync, openSync, readdirSync, rmdirSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { errnoOf } from './errors'

export const OWNER_SOCKET = '.owner.sock'

/**
 * Runs on a stale dir of a prefix (its owner is gone) before the sweep removes it: for what the
 * dir only names (a journal of entries its owner made elsewhere).
 */
export type OnStale = (dir: string) => void | Promise<void>

/**
 * Removes the dirs of `prefix` whose lock nobody holds (`onStale` first), and its staging dirs
 * (`.<prefix>-XXXXXX`) whose lock nobody holds: one lives for a moment between its mkdtemp and
 * its rename, its socket made in it first, so a refused one's execd died in between. Judged by
 * the lock alone, never by age: an mtime against this execd's wall clock took a live execd's
 * staging dir whenever this one's clock ran an hour ahead (a clock stepped forward). One with no
 * socket yet is either in its owner's first microseconds or left by an execd killed in exactly
 * those (or one whose listen failed: a full disk, EMFILE): it goes once its mtime is
 * ABANDONED_MS behind the filesystem's own clock (read from a dir made for it), which no
 * process's clock moves; it was kept for ever. Returns the paths removed.
 */
export async function sweepStale(prefix: string, root: string, keep?: string, onStale?: OnStale): Promise<string[]> {
  let names: string[] = []
  try {
    names = readdirSync(root)
  } catch {
    return []
  }
  const escaped = prefix.replace(/[^\w-]/g, '\\$&')
  const pattern = new RegExp(`^${escaped}-\\d+-[^/]+$`)
  const staging = new RegExp(`^\\.${escaped}-[^/]{6}$`)
  const removed: string[] = []
  const remove = (dir: string) => {
    rmSync(dir, { recursive: true, force: true })
    removed.push(dir)
  }
  const unheld = async (dir: string) => (await probeLock(join(dir, OWNER_SOCKET))) === 'refused'
  let now: number | undefined
  const abandoned = (dir: string) => {
    now ??= filesystemNow(root, prefix)
    return now - lstatSync(dir).mtimeMs > ABANDONED_MS
  }
  const stale = async (dir: string) => {
    const lock = await probeLock(join(dir, OWNER_SOCKET))
    return lock === 'refused' || (lock === 'none' && abandoned(dir))
  }
  await Promise.all([
    // A staging dir names nothing elsewhere: its journal entries come after its rename.
    ...names
      .filter(name => staging.test(name))
      .map(async name => (await stale(join(root, name)).catch(() => false)) && remove(join(root, name))),
    ...names
      .filter(name => pattern.test(name) && join(root, name) !== keep)
      .map(async name => {
        const dir = join(root, name)
        if (!(await unheld(dir))) return
        await (async () => onStale?.(dir))().catch(() => {})
        remove(dir)
      }),
  ])
  return removed
}

/**
 * How old by the filesystem's clock a staging dir without its socket must be to be taken for
 * abandoned: its owner makes the socket microseconds after the dir.
 */
const ABANDONED_MS = 10 * 60_000

/**
 * The time a new entry of `root` gets, as the kernel stamps it: the sweeping execd's own clock
 * may be stepped or faked, and a staging dir's mtime was stamped by the kernel too. -Infinity
 * (nothing is old) when no dir can be made there.
 */
function filesystemNow(root: string, prefix: string): number {
  try {
    const probe = mkdtempSync(join(root, `.${prefix}-clock-`))
    try {
      return lstatSync(probe).mtimeMs
    } finally {
      rmdirSync(probe)
    }
  } catch {
    return Number.NEGATIVE_INFINITY
  }
}

/**
 * 'held' when someone accepts on the socket (or it is busy), 'refused' when a socket is there
 * and nobody listens (its owner died), 'none' without a socket (not ours, or being made).
 */
export async function probeLock(path: string): Promise<'held' | 'refused' | 'none'> {
  // Past a socket path's 107 bytes, reached through a descriptor of its directory, as bound.
  if (Buffer.byteLength(path) < MAX_SOCKET_PATH) return probeAt(path)
  let dir: number
  try {
    dir = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY)
  } catch (err) {
    // Nothing there is no lock; any other failure (EMFILE) is not proof that nobody holds it.
    return errnoOf(err) === 'ENOENT' ? 'none' : 'held'
  }
  try {
    return await probeAt(`/proc/self/fd/${dir}/${basename(path)}`)
  } finally {
    closeSync(dir)
  }
}

/** sun_path's size: a path of this many bytes or more cannot be bound or connected to. */
const MAX_SOCKET_PATH = 108

function probeAt(path: string): Promise<'held' | 'refused' | 'none'> {
  return new Promise(resolve => {
    // node:net (and the node streams under it) loads on the first probe, not at every start.
    const { connect } = require('node:net') as typeof import('node:net')
    const socket = connect(path)
    socket.on('connect', () => {
      socket.destroy()
      resolve('held')
    })
    socket.on('error', err => {
      socket.destroy()
      const code = (err as NodeJS.ErrnoException).code
      resolve(code === 'ECONNREFUSED' ? 'refused' : code === 'ENOENT' ? 'none' : 'held')
    })
  })
}
