import { expect, test } from 'bun:test'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { dropLockAsKilled } from '../spec/kit/killed-lock'
import { testRoots } from '../spec/kit/test-roots'
import { OWNER_SOCKET, probeLock, sweepStale } from './stale-dirs'
import { OwnedTempDir, ownedTempDir, sweepsDone, userCacheDir } from './temp-dir'

const freshRoot = testRoots('execd-temp-dir-test')

/** A dir as a killed execd leaves it: its socket is there, nobody listens on it. */
function abandonedDir(root: string, name: string): string {
  const dir = new OwnedTempDir(name.replace(/-\d+-.*$/, ''), root)
  dir.ensure()
  const path = join(root, name)
  dropLockAsKilled(dir)
  Bun.spawnSync(['mv', dir.path, path])
  return path
}

/** A socket as a killed execd leaves it: the file is there, nobody listens. */
function abandonedSocket(path: string): void {
  // Moved before the stop, which removes the file by the path it was made at.
  const listener = Bun.listen({ unix: `${path}.made`, socket: { data() {} } })
  renameSync(`${path}.made`, path)
  listener.stop(true)
}

test('a made dir holds its lock: connecting to its socket succeeds', async () => {
  const dir = ownedTempDir('execd-x', freshRoot())
  expect(dir.path).toStartWith(join(dir.root, `execd-x-${process.pid}-`))
  expect(await probeLock(join(dir.path, OWNER_SOCKET))).toBe('held')
  dir.close()
  expect(existsSync(dir.path)).toBe(false)
})

test('the sweep removes only dirs whose lock is refused, whatever their pid says', async () => {
  const root = freshRoot()
  const dead = Bun.spawnSync(['true']).pid // exited and reaped: its pid names no process
  const stale = abandonedDir(root, `execd-x-${process.pid}-stale`)
  // A live owner whose pid means nothing here (another PID namespace): kept, it holds its lock.
  const live = ownedTempDir('execd-x', root)
  const foreign = join(root, `execd-x-${dead}-foreign`)
  Bun.spawnSync(['mv', live.path, foreign])
  const unlocked = join(root, `execd-x-${dead}-nosocket`) // not proven stale: kept
  const other = join(root, 'execd-y-1-abc')
  for (const d of [unlocked, other]) mkdirSync(d)
  expect(await sweepStale('execd-x', root)).toEqual([stale])
  expect([existsSync(stale), existsSync(foreign), existsSync(unlocked), existsSync(other)]).toEqual([
    false,
    true,
    true,
    true,
  ])
  live.close()
})

test('the sweep a new dir starts can be waited for: then a dead owner’s dir is gone, a live one’s kept', async () => {
  const root = freshRoot()
  const stale = abandonedDir(root, `execd-x-${process.pid}-stale`)
  const live = ownedTempDir('execd-x', root)
  const dir = ownedTempDir('execd-x', root)
  await sweepsDone()
  expect([existsSync(stale), existsSync(live.path), existsSync(dir.path)]).toEqual([false, true, true])
  live.close()
  dir.close()
})

test('onStale sees a dead owner’s dir, with its contents, before the sweep removes it; a live one’s never', async () => {
  const root = freshRoot()
  const stale = abandonedDir(root, `execd-x-${process.pid}-stale`)
  Bun.spawnSync(['touch', join(stale, 'journalled')])
  const live = ownedTempDir('execd-x', root)
  const seen: string[][] = []
  const dir = new OwnedTempDir('execd-x', root, { onStale: d => void seen.push(readdirSync(d).sort()) })
  dir.ensure()
  await sweepsDone()
  expect(seen).toEqual([[OWNER_SOCKET, 'journalled']])
  expect(existsSync(stale)).toBe(false)
  live.close()
  dir.close()
})

test("staging dirs are judged by their lock: a dead owner's at once, a live one kept however old, a socketless one once the filesystem dates it ten minutes back", async () => {
  const root = freshRoot()
  const dead = mkdtempSync(join(root, '.execd-x-'))
  abandonedSocket(join(dead, OWNER_SOCKET))
  const live = mkdtempSync(join(root, '.execd-x-'))
  const lock = Bun.listen({ unix: join(live, OWNER_SOCKET), socket: { open: s => void s.end(), data() {} } })
  const bare = mkdtempSync(join(root, '.execd-x-')) // its owner killed between mkdtemp and listen
  const young = mkdtempSync(join(root, '.execd-x-')) // its owner between mkdtemp and listen, or just killed there
  const oldNamed = join(root, 'execd-x-1-nosocket') // not staging, not proven stale: kept
  mkdirSync(oldNamed)
  const daysAgo = (Date.now() - 48 * 3600_000) / 1000
  for (const d of [live, bare, oldNamed]) utimesSync(d, daysAgo, daysAgo)
  try {
    expect((await sweepStale('execd-x', root)).sort()).toEqual([dead, bare].sort())
    expect([live, young, oldNamed].map(d => existsSync(d))).toEqual([true, true, true])
    // The dir made to read the filesystem's clock is gone.
    expect(readdirSync(root).filter(name => name.includes('clock'))).toEqual([])
  } finally {
    lock.stop(true)
  }
})

test('a removed dir is made again on demand, with its lock', async () => {
  const dir = ownedTempDir('execd-x', freshRoot())
  rmSync(dir.path, { recursive: true, force: true })
  expect(dir.ensure()).toBe(dir.path)
  expect(existsSync(dir.path)).toBe(true)
  expect(await probeLock(join(dir.path, OWNER_SOCKET))).toBe('held')
  dir.close()
})

test('a link or a full dir put at a removed dir’s name is not taken for it: removed, the dir made again', async () => {
  const root = freshRoot()
  const elsewhere = join(root, 'elsewhere')
  mkdirSync(join(elsewhere, 'kept'), { recursive: true })
  const dir = ownedTempDir('execd-x', root)
  expect(dir.intact()).toBe(true)
  rmSync(dir.path, { recursive: true, force: true })
  symlinkSync(elsewhere, dir.path)
  // Old build: existsSync followed the link, and the dir's users wrote into `elsewhere`.
  expect(dir.intact()).toBe(false)
  expect(dir.ensure()).toBe(dir.path)
  expect(lstatSync(dir.path).isDirectory()).toBe(true)
  expect(await probeLock(join(dir.path, OWNER_SOCKET))).toBe('held')
  expect(readdirSync(elsewhere)).toEqual(['kept'])
  // A full dir at the name refused the rename: the dir could not be made again.
  rmSync(dir.path, { recursive: true, force: true })
  mkdirSync(join(dir.path, 'theirs'), { recursive: true })
  expect(dir.intact()).toBe(false)
  expect(dir.ensure()).toBe(dir.path)
  expect(readdirSync(dir.path)).toEqual([OWNER_SOCKET])
  expect(dir.intact()).toBe(true)
  dir.close()
})

test('userCacheDir makes a missing temp root as mkdir -p would, and only its own dir private', () => {
  const root = join(freshRoot(), 'missing', 'tmp')
  const dir = userCacheDir(root)
  expect(lstatSync(dir).mode & 0o777).toBe(0o700)
  const umask = process.umask()
  expect(lstatSync(root).mode & 0o777).toBe(0o777 & ~umask)
  expect(lstatSync(join(root, '..')).mode & 0o777).toBe(0o777 & ~umask)
  expect(userCacheDir(root)).toBe(dir)
})

test('a dir that cannot be locked for want of fds leaves nothing behind and says EMFILE', () => {
  const root = freshRoot()
  // In a process of its own with few fds: every one taken, then three dirs asked for. Removing
  // the staging dir took an fd as well, so each refusal left an empty `.execd-*` dir.
  const script = `
    const { OwnedTempDir } = require(${JSON.stringify(join(import.meta.dir, 'temp-dir.ts'))})
    const { openSync, closeSync } = require('node:fs')
    const fds = []
    try { for (;;) fds.push(openSync('/dev/null', 'r')) } catch {}
    const seen = []
    for (let i = 0; i < 3; i++) {
      try { new OwnedTempDir('execd-probe', ${JSON.stringify(root)}).ensure() } catch (e) { seen.push(e.cause?.code ?? e.code) }
    }
    for (const fd of fds) closeSync(fd)
    console.log(JSON.stringify(seen))`
  const run = Bun.spawnSync(['prlimit', '--nofile=64', process.execPath, '-e', script])
  expect(JSON.parse(run.stdout.toString())).toEqual(['EMFILE', 'EMFILE', 'EMFILE'])
  expect(readdirSync(root)).toEqual([])
})

test('closed, a dir leaves alone what another made at its name once it was removed', async () => {
  const root = freshRoot()
  for (const close of [(d: OwnedTempDir) => d.close(), (d: OwnedTempDir) => d.closeAsync()]) {
    const dir = ownedTempDir('execd-x', root)
    rmSync(dir.path, { recursive: true, force: true })
    mkdirSync(join(dir.path, 'theirs'), { recursive: true })
    // Old build: removed by name, as root, with everything in it.
    await close(dir)
    expect(readdirSync(dir.path)).toEqual(['theirs'])
    rmSync(dir.path, { recursive: true })
  }
  const kept = ownedTempDir('execd-x', root)
  kept.close()
  expect(existsSync(kept.path)).toBe(false)
})

test('closed, a dir is emptied through its descriptor, not found again by its name', async () => {
  const root = freshRoot()
  for (const close of [(d: OwnedTempDir) => d.close(), (d: OwnedTempDir) => d.closeAsync()]) {
    const dir = ownedTempDir('execd-x', root)
    writeFileSync(join(dir.path, 'log'), 'ours')
    // Moved aside and another dir made at the name: the name no longer leads to it, the
    // descriptor does. Old build: looked at the name, saw another dir, left its files.
    const aside = join(root, 'aside')
    renameSync(dir.path, aside)
    mkdirSync(join(dir.path, 'theirs'), { recursive: true })
    await close(dir)
    expect(readdirSync(aside)).toEqual([])
    expect(readdirSync(dir.path)).toEqual(['theirs'])
    rmSync(dir.path, { recursive: true })
    rmSync(aside, { recursive: true })
  }
})

test('a dir under a root too long for a socket path is made, locked and probed held, through its descriptor', async () => {
  // sun_path takes 107 bytes: `<root>/.execd-x-XXXXXX/.owner.sock` was refused past a ~70-byte root.
  const root = join(freshRoot(), 'r'.repeat(100))
  mkdirSync(root)
  const dir = ownedTempDir('execd-x', root)
  expect(Buffer.byteLength(join(dir.path, OWNER_SOCKET))).toBeGreaterThan(107)
  expect(await probeLock(join(dir.path, OWNER_SOCKET))).toBe('held')
  expect(readdirSync(dir.path)).toContain(OWNER_SOCKET)
  const stale = abandonedDir(root, `execd-x-${process.pid}-stale`)
  expect(await probeLock(join(stale, OWNER_SOCKET))).toBe('refused')
  dir.close()
  expect(existsSync(dir.path)).toBe(false)
  expect(await probeLock(join(dir.path, OWNER_SOCKET))).toBe('none')
})
