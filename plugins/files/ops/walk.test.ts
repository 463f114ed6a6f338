import { describe, expect, test } from 'bun:test'
import {
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PathScope } from '../../../core/beneath/path-scope'
import { listDirectory } from './list'
import { searchFiles } from './search'
import { failure as fail, tempDirPerTest } from '../../../spec/kit/test-roots'
import { walk, WALK_LIMITS, type WalkStart } from './walk'
import { DirectoryFds, MAX_OPEN, type Frame } from '../../../core/beneath/walk-fds'

let dir = ''
const scope = new PathScope()
tempDirPerTest('execd-walk-', d => (dir = d))
const rel = (list: { path: string }[]) => list.map(e => e.path.slice(dir.length + 1))
/**
 * This process's descriptors of the test's directory tree: counting all of them counted others'
 * too (the runner's, an earlier test's child pipes) and failed under load, 24 against 23.
 */
const openFds = () =>
  readdirSync('/proc/self/fd').filter(fd => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)
    } catch {
      return false
    }
  }).length
const startOf = async (d: string): Promise<WalkStart> => ({
  handle: await open(d, constants.O_RDONLY | constants.O_DIRECTORY),
  path: d,
  bytes: Buffer.from(d),
  valid: true,
})
const bytePath = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.flatMap((p, i) => [...(i ? [Buffer.from('/')] : []), Buffer.from(p)]))

describe('names that are not UTF-8', () => {
  const bad = Buffer.from([0x61, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]) // a\xff\xfe.txt
  test('are listed with stray bytes as \\xHH and their exact bytes in path_base64', async () => {
    writeFileSync(bytePath(dir, bad), 'x')
    writeFileSync(join(dir, 'b.txt'), 'y')
    const list = await listDirectory(scope, dir)
    expect(rel(list)).toEqual(['a\\xff\\xfe.txt', 'b.txt'])
    expect(Buffer.from(list[0]?.path_base64 ?? '', 'base64')).toEqual(bytePath(dir, bad))
    expect(list[0]).toMatchObject({ type: 'file', size: 1 })
    expect(list[1] && 'path_base64' in list[1]).toBe(false)
  })
  test('are found by search, each stray byte matching one character', async () => {
    mkdirSync(bytePath(dir, Buffer.from([0xc3])))
    writeFileSync(bytePath(dir, Buffer.from([0xc3]), bad), 'x')
    expect(rel(await searchFiles(scope, dir, 'a??.txt'))).toEqual(['\\xc3/a\\xff\\xfe.txt'])
    expect(rel(await searchFiles(scope, dir, '?/*.txt'))).toEqual(['\\xc3/a\\xff\\xfe.txt'])
  })
})

describe('the walk', () => {
  test('stops at the next entry once its client has gone, its descriptors closed', async () => {
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, `f${i}`), '')
    const before = openFds()
    const client = new AbortController()
    let seen = 0
    const walking = (async () => {
      for await (const _ of walk(await startOf(dir), 1, () => {}, { ...WALK_LIMITS, signal: client.signal })) {
        if (++seen === 3) client.abort()
      }
    })()
    expect(
      await walking.then(
        () => 'walked all',
        (e: Error) => e.message,
      ),
    ).toBe('walk stopped: the client went away')
    expect(seen).toBe(3)
    expect(openFds()).toBe(before)
  })
  test('holds a bounded number of descriptors however deep the tree', async () => {
    const deep = Array.from({ length: 3 * MAX_OPEN }, (_, i) => `d${i}`)
    mkdirSync(join(dir, ...deep), { recursive: true })
    for (let i = 1; i <= deep.length; i++) writeFileSync(join(dir, ...deep.slice(0, i), 'z'), '')
    const before = openFds()
    let most = 0
    let count = 0
    for await (const _ of walk(await startOf(dir), Number.POSITIVE_INFINITY, () => {})) {
      most = Math.max(most, openFds() - before)
      count++
    }
    expect(count).toBe(2 * deep.length)
    expect(most).toBeLessThanOrEqual(MAX_OPEN)
    expect(openFds()).toBe(before)
  })

  test('coming back up a deep tree reopens each evicted directory once, from its child', async () => {
    const depth = 40 * MAX_OPEN
    const fds = new DirectoryFds()
    const start = await startOf(dir)
    const frames: Frame[] = [await fds.adopt(start.handle, { ...start, name: Buffer.alloc(0) })]
    for (let i = 0; i < depth; i++) {
      const parent = frames.at(-1) as Frame
      mkdirSync(await fds.childPath(parent, Buffer.from('d')))
      const handle = await open(
        await fds.childPath(parent, Buffer.from('d')),
        constants.O_RDONLY | constants.O_DIRECTORY,
      )
      frames.push(
        await fds.adopt(handle, { name: Buffer.from('d'), bytes: Buffer.from('d'), path: 'd', valid: true }, parent),
      )
    }
    // As the walk does: done with a directory, the next entry of its parent is looked up.
    for (let i = depth; i > 0; i--) {
      await fds.release(frames[i] as Frame)
      await fds.fdOf(frames[i - 1] as Frame)
    }
    await fds.closeAll()
    // From the nearest open ancestor alone it was quadratic: 7,155 here.
    expect(fds.reopened).toBeLessThanOrEqual(depth)
  })

  // The fuzz's walks-aborted-midway: a descriptor opened after closeAll (or by the losing one of
  // two reopens) was held by nobody, and Bun's collector then ended execd with an error.
  test('a reopen that races closeAll or another reopen of its directory leaves no descriptor open', async () => {
    const before = openFds()
    const fds = new DirectoryFds()
    const start = await startOf(dir)
    const root = await fds.adopt(start.handle, { ...start, name: Buffer.alloc(0) })
    const children: Frame[] = []
    for (let i = 0; i < MAX_OPEN + 2; i++) {
      const name = Buffer.from(`c${i}`)
      mkdirSync(await fds.childPath(root, name))
      const handle = await open(await fds.childPath(root, name), constants.O_RDONLY | constants.O_DIRECTORY)
      children.push(await fds.adopt(handle, { name, bytes: name, path: `c${i}`, valid: true }, root))
    }
    const evicted = children.filter(f => f.handle === undefined)
    expect(evicted.length).toBeGreaterThanOrEqual(2)
    const [a, b] = evicted as [Frame, Frame]
    const [fa, fb] = await Promise.all([fds.fdOf(a), fds.fdOf(a)])
    expect(fa).toBe(fb)
    const late = fds.fdOf(b).then(
      () => 'held',
      (e: NodeJS.ErrnoException) => e.code,
    )
    await fds.closeAll()
    // EBADF: reopened, then let go; ESTALE: its parent was closed first
    expect(['EBADF', 'ESTALE']).toContain((await late) as string)
    expect(openFds()).toBe(before)
  })

  test('a directory swapped for a symlink to outside before it is entered is skipped', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'execd-outside-'))
    try {
      writeFileSync(join(outside, 'secret'), 's')
      mkdirSync(join(dir, 'a'))
      writeFileSync(join(dir, 'a', 'mine'), 'm')
      const seen: string[] = []
      for await (const entry of walk(await startOf(dir), Number.POSITIVE_INFINITY, () => {})) {
        seen.push(entry.relative)
        if (entry.relative === 'a') {
          renameSync(join(dir, 'a'), join(dir, 'a-old'))
          symlinkSync(outside, join(dir, 'a'))
        }
      }
      expect(seen).toEqual(['a'])
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })

  test('an evicted ancestor swapped for a symlink is not reopened through it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'execd-outside-'))
    try {
      const chain = Array.from({ length: 2 * MAX_OPEN }, (_, i) => `q${i}`)
      mkdirSync(join(dir, 'p', ...chain), { recursive: true })
      writeFileSync(join(dir, 'p', 'zz'), '')
      mkdirSync(join(outside, ...chain), { recursive: true })
      writeFileSync(join(outside, 'zz-outside'), '')
      writeFileSync(join(outside, 'zz'), '')
      const seen: string[] = []
      const realZz = statSync(join(dir, 'p', 'zz')).ino
      const stats: (number | string)[] = []
      for await (const entry of walk(await startOf(dir), Number.POSITIVE_INFINITY, () => {})) {
        seen.push(entry.relative)
        if (entry.name === chain.at(-1)) {
          renameSync(join(dir, 'p'), join(dir, 'p-old'))
          symlinkSync(outside, join(dir, 'p'))
        }
        if (entry.name === 'zz')
          stats.push(
            await entry.stat().then(
              s => s.ino,
              e => e.code,
            ),
          )
      }
      // Its name was read from the real p before the swap; its lstat must not reach outside.
      expect(seen.filter(s => s.includes('outside'))).toEqual([])
      // p's descriptor was closed; it is reopened as q0's `..`, the real p (now p-old), or not at all.
      expect([['ESTALE'], [realZz]] as (number | string)[][]).toContainEqual(stats)
      const list = await listDirectory(scope, dir, 100)
      expect(rel(list).filter(s => s.includes('outside'))).toEqual([])
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })

  test('more entries than the cap is a 413 naming the limit, past the time budget a 503', async () => {
    for (const f of ['a', 'b', 'c']) writeFileSync(join(dir, f), '')
    const many = await fail(listDirectory(scope, dir, 1, { maxEntries: 2, timeBudgetMs: 10_000 }))
    expect([many.status, many.message]).toEqual([
      413,
      'listing stopped: more than 2 entries; narrow the path or pattern',
    ])
    expect((await fail(searchFiles(scope, dir, '*', { maxEntries: 2, timeBudgetMs: 10_000 }))).status).toBe(413)
    const slow = await fail(searchFiles(scope, dir, '*', { maxEntries: 10, timeBudgetMs: 0 }))
    expect([slow.status, slow.message]).toEqual([503, 'search stopped after 0 ms (its time budget)'])
  })
})
