import { describe, expect, test } from 'bun:test'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PathScope } from '../../../core/beneath/path-scope'
import { ExecdError } from '../../../core/errors'
import { failure as fail, tempDirPerTest } from '../../../spec/kit/test-roots'
import { makeDirectories } from './mkdir'
import { moveFiles } from './move'
import { setPermissions } from './permissions'
import { deleteFiles, removeDirectories } from './remove'

/** A path with raw bytes in it: strings as UTF-8, number arrays as those bytes. */
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map(x => Buffer.from(x)))

let dir = ''
const scope = new PathScope()
tempDirPerTest('execd-mut-', d => (dir = d))
const p = (name: string) => join(dir, name)

describe('deleteFiles', () => {
  test('removes files, skips missing ones', async () => {
    writeFileSync(p('a'), '')
    await deleteFiles(scope, [p('a'), p('missing')])
    expect(existsSync(p('a'))).toBe(false)
  })
  test('removes a symlink itself (dangling too), never its target', async () => {
    writeFileSync(p('t'), 'keep')
    symlinkSync(p('t'), p('l'))
    symlinkSync(p('gone'), p('dangling'))
    await deleteFiles(scope, [p('l'), p('dangling')])
    expect(readFileSync(p('t'), 'utf8')).toBe('keep')
    expect(() => lstatSync(p('dangling'))).toThrow()
  })
  test('a directory is refused with 400, earlier paths stay deleted', async () => {
    writeFileSync(p('a'), '')
    mkdirSync(p('d'))
    const e = await fail(deleteFiles(scope, [p('a'), p('d')]))
    expect([e.status, e.message]).toEqual([400, `error removing file ${p('d')}. path is a directory: ${p('d')}`])
    expect(existsSync(p('a'))).toBe(false)
    expect(existsSync(p('d'))).toBe(true)
  })
})

describe('removeDirectories', () => {
  test('rm -rf trees and files; missing is fine', async () => {
    mkdirSync(p('d/e/f'), { recursive: true })
    writeFileSync(p('d/e/f/x'), '')
    writeFileSync(p('file'), '')
    await removeDirectories(scope, [p('d'), p('file'), p('missing')])
    expect(existsSync(p('d'))).toBe(false)
    expect(existsSync(p('file'))).toBe(false)
  })
  test('names that are not UTF-8 inside a tree are removed too', async () => {
    mkdirSync(p('d'))
    writeFileSync(bytes(p('d/x'), [0xff]), '')
    mkdirSync(bytes(p('d/y'), [0xfe]))
    writeFileSync(bytes(p('d/y'), [0xfe], '/z', [0xfd]), '')
    await removeDirectories(scope, [p('d')])
    expect(existsSync(p('d'))).toBe(false)
  })
  test('a symlink to a directory goes as a link; links inside a tree are never followed', async () => {
    mkdirSync(p('elsewhere'))
    writeFileSync(p('elsewhere/keep'), 'keep')
    symlinkSync(p('elsewhere'), p('dirlink'))
    mkdirSync(p('tree'))
    symlinkSync(p('elsewhere'), p('tree/inner'))
    await removeDirectories(scope, [p('dirlink'), p('tree')])
    expect(existsSync(p('dirlink')) || existsSync(p('tree'))).toBe(false)
    expect(readFileSync(p('elsewhere/keep'), 'utf8')).toBe('keep')
  })
  test('refuses / and the root itself', async () => {
    expect((await fail(removeDirectories(scope, ['/']))).status).toBe(400)
    const rooted = new PathScope(dir)
    expect((await fail(removeDirectories(rooted, [dir]))).message).toContain('refusing to remove the root')
    expect(existsSync(dir)).toBe(true)
  })
})

describe('moveFiles', () => {
  test('moves files and directories, creating destination parents', async () => {
    writeFileSync(p('a'), 'A')
    mkdirSync(p('d'))
    writeFileSync(p('d/x'), 'X')
    await moveFiles(scope, [
      { src: p('a'), dest: p('new/deep/a2') },
      { src: p('d'), dest: p('d2') },
    ])
    expect(readFileSync(p('new/deep/a2'), 'utf8')).toBe('A')
    expect(readFileSync(p('d2/x'), 'utf8')).toBe('X')
  })
  test('missing source is 404 with the reference message', async () => {
    const e = await fail(moveFiles(scope, [{ src: p('nope'), dest: p('x') }]))
    expect([e.status, e.message]).toEqual([
      404,
      `file not found. source path not found: ${p('nope')}: stat ${p('nope')}: no such file or directory`,
    ])
  })
  test('an existing destination is refused and both files stay', async () => {
    writeFileSync(p('a'), 'A')
    writeFileSync(p('b'), 'B')
    const e = await fail(moveFiles(scope, [{ src: p('a'), dest: p('b') }]))
    expect([e.status, e.message]).toEqual([400, `error accessing file: destination path already exists: ${p('b')}`])
    expect(readFileSync(p('b'), 'utf8')).toBe('B')
  })
  test('a directory cannot move into itself', async () => {
    mkdirSync(p('d'))
    expect((await fail(moveFiles(scope, [{ src: p('d'), dest: p('d/sub') }]))).status).toBe(400)
  })
  test.skipIf(!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tmpdir()).dev)(
    'across filesystems (tmp → /dev/shm) files and trees are copied then removed',
    async () => {
      writeFileSync(p('a'), 'A')
      chmodSync(p('a'), 0o640)
      mkdirSync(p('tree/sub'), { recursive: true })
      writeFileSync(p('tree/sub/x'), 'X')
      symlinkSync('sub/x', p('tree/link'))
      writeFileSync(bytes(p('tree/sub/'), [0xfe]), 'B')
      symlinkSync(bytes('sub/', [0xfe]), p('tree/blink'))
      const other = mkdtempSync('/dev/shm/execd-mv-')
      try {
        await moveFiles(scope, [
          { src: p('a'), dest: join(other, 'a') },
          { src: p('tree'), dest: join(other, 'tree') },
        ])
        expect(readFileSync(join(other, 'a'), 'utf8')).toBe('A')
        expect(statSync(join(other, 'a')).mode & 0o777).toBe(0o640)
        expect(readFileSync(join(other, 'tree/sub/x'), 'utf8')).toBe('X')
        expect(lstatSync(join(other, 'tree/link')).isSymbolicLink()).toBe(true)
        expect(readFileSync(bytes(join(other, 'tree/sub/'), [0xfe]), 'utf8')).toBe('B')
        expect(readlinkSync(join(other, 'tree/blink'), 'buffer')).toEqual(bytes('sub/', [0xfe]))
        expect(existsSync(p('a')) || existsSync(p('tree'))).toBe(false)
      } finally {
        rmSync(other, { recursive: true, force: true })
      }
    },
  )
  test('into itself through a symlink: 400 from the kernel, and the parents it made are removed', async () => {
    mkdirSync(p('d'))
    symlinkSync('d', p('to-d'))
    const e = await fail(moveFiles(scope, [{ src: p('d'), dest: p('to-d/new/deeper/x') }]))
    expect([e.status, e.message]).toEqual([
      400,
      `error accessing file: cannot move ${p('d')} into itself: ${p('to-d/new/deeper/x')}`,
    ])
    expect(existsSync(p('d/new'))).toBe(false)
  })
  test('a symlink moves as a link', async () => {
    writeFileSync(p('t'), '')
    symlinkSync(p('t'), p('l'))
    await moveFiles(scope, [{ src: p('l'), dest: p('l2') }])
    expect(lstatSync(p('l2')).isSymbolicLink()).toBe(true)
  })
})

describe('makeDirectories', () => {
  test('mkdir -p with the leaf mode given as octal digits', async () => {
    await makeDirectories(scope, { [p('a/b/c')]: { mode: 700 } })
    expect(statSync(p('a/b/c')).mode & 0o777).toBe(0o700)
    expect(statSync(p('a')).mode & 0o777).toBe(0o755)
  })
  test('existing directory is fine; owner changes only when given', async () => {
    mkdirSync(p('d'))
    await makeDirectories(scope, { [p('d')]: { mode: 0 } })
    expect(statSync(p('d')).uid).toBe(process.getuid!())
    await makeDirectories(scope, { [p('d')]: { owner: '4242', group: '4343' } })
    expect([statSync(p('d')).uid, statSync(p('d')).gid]).toEqual([4242, 4343])
  })
  test('a file in the way is 400', async () => {
    writeFileSync(p('f'), '')
    expect((await fail(makeDirectories(scope, { [p('f/sub')]: {} }))).status).toBe(400)
    expect((await fail(makeDirectories(scope, { [p('f')]: {} }))).status).toBe(400)
  })
  test('mode with 8 or 9 is 400 before anything is created', async () => {
    const e = await fail(makeDirectories(scope, { [p('ok')]: {}, [p('bad')]: { mode: 789 } }))
    expect(e.status).toBe(400)
    expect(existsSync(p('ok'))).toBe(false)
  })
})

describe('setPermissions', () => {
  test('chmod with octal digits; setuid, setgid and sticky dropped as the reference does', async () => {
    writeFileSync(p('f'), '')
    await setPermissions(scope, { [p('f')]: { mode: 640 } })
    expect(statSync(p('f')).mode & 0o7777).toBe(0o640)
    await setPermissions(scope, { [p('f')]: { mode: 4755 } })
    expect(statSync(p('f')).mode & 0o7777).toBe(0o755)
    chmodSync(p('f'), 0o6755)
    await setPermissions(scope, { [p('f')]: { mode: 7751 } })
    expect(statSync(p('f')).mode & 0o7777).toBe(0o751)
  })
  test('mode 0 and no owner/group change nothing', async () => {
    writeFileSync(p('f'), '')
    chmodSync(p('f'), 0o604)
    const before = statSync(p('f'))
    await setPermissions(scope, { [p('f')]: { mode: 0 } })
    const after = statSync(p('f'))
    expect([after.mode, after.uid, after.gid]).toEqual([before.mode, before.uid, before.gid])
  })
  test('owner and group by name or numeric id, each alone', async () => {
    writeFileSync(p('f'), '')
    await setPermissions(scope, { [p('f')]: { owner: '1234' } })
    expect([statSync(p('f')).uid, statSync(p('f')).gid]).toEqual([1234, 0])
    await setPermissions(scope, { [p('f')]: { group: 'root', owner: 'root' } })
    expect([statSync(p('f')).uid, statSync(p('f')).gid]).toEqual([0, 0])
  })
  test('unknown user is 400, missing file 404, bad mode 400', async () => {
    writeFileSync(p('f'), '')
    expect((await fail(setPermissions(scope, { [p('f')]: { owner: 'no-such-user-xyz' } }))).status).toBe(400)
    expect((await fail(setPermissions(scope, { [p('nope')]: { mode: 644 } }))).status).toBe(404)
    expect((await fail(setPermissions(scope, { [p('f')]: { mode: 99 } }))).status).toBe(400)
    expect((await fail(setPermissions(scope, { [p('f')]: { mode: 77777 } }))).status).toBe(400)
  })
  test('follows symlinks to the target', async () => {
    writeFileSync(p('t'), '')
    symlinkSync(p('t'), p('l'))
    await setPermissions(scope, { [p('l')]: { mode: 600 } })
    expect(statSync(p('t')).mode & 0o777).toBe(0o600)
  })
})

describe('tree writes wait for their slot (the routes: --max-tree-writes)', () => {
  const refused = new Error('no slot')
  const counting = (allow: boolean) => {
    const asked = { n: 0, released: 0 }
    const slot = async () => {
      asked.n++
      if (!allow) throw refused
      return () => void asked.released++
    }
    return { asked, slot }
  }
  test('a removal refused its slot removes nothing; a bad path is refused before asking', async () => {
    mkdirSync(p('tree/sub'), { recursive: true })
    writeFileSync(p('tree/sub/x'), 'X')
    const no = counting(false)
    expect(await removeDirectories(scope, [p('tree')], no.slot).catch(e => e)).toBe(refused)
    expect(readFileSync(p('tree/sub/x'), 'utf8')).toBe('X')
    expect((await fail(removeDirectories(scope, [''], no.slot))).status).toBe(400)
    expect(no.asked.n).toBe(1)
    const yes = counting(true)
    await removeDirectories(scope, [p('tree')], yes.slot)
    expect(existsSync(p('tree'))).toBe(false)
    expect(yes.asked).toEqual({ n: 1, released: 1 })
  })
  test('a rename on one filesystem asks no slot', async () => {
    writeFileSync(p('a'), 'A')
    const no = counting(false)
    await moveFiles(scope, [{ src: p('a'), dest: p('b/c') }], undefined, no.slot)
    expect(readFileSync(p('b/c'), 'utf8')).toBe('A')
    expect(no.asked.n).toBe(0)
  })
  test.skipIf(!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tmpdir()).dev)(
    'a move to another filesystem refused its slot copies nothing and keeps the source',
    async () => {
      mkdirSync(p('tree'))
      writeFileSync(p('tree/x'), 'X')
      const other = mkdtempSync('/dev/shm/execd-mv-slot-')
      try {
        const no = counting(false)
        const dest = join(other, 'made/tree')
        expect(await moveFiles(scope, [{ src: p('tree'), dest }], undefined, no.slot).catch(e => e)).toBe(refused)
        expect(readFileSync(p('tree/x'), 'utf8')).toBe('X')
        expect(existsSync(join(other, 'made'))).toBe(false)
        const yes = counting(true)
        await moveFiles(scope, [{ src: p('tree'), dest }], undefined, yes.slot)
        expect(readFileSync(join(dest, 'x'), 'utf8')).toBe('X')
        expect(yes.asked).toEqual({ n: 1, released: 1 })
      } finally {
        rmSync(other, { recursive: true, force: true })
      }
    },
  )
  test.skipIf(!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tmpdir()).dev)(
    'a batch whose move waits in vain for its slot says how many of its first moves were made',
    async () => {
      writeFileSync(p('a'), 'A')
      writeFileSync(p('b'), 'B')
      mkdirSync(p('tree'))
      const other = mkdtempSync('/dev/shm/execd-mv-batch-')
      const limit = new ExecdError('SERVICE_UNAVAILABLE', 'limit reached: at most 1 concurrent tree writes', {
        held: () => ({ what: 'concurrent tree writes', max: 1, held: 1, byKind: {}, oldest: [] }),
      })
      try {
        const items = [
          { src: p('a'), dest: p('a2') },
          { src: p('b'), dest: p('b2') },
          { src: p('tree'), dest: join(other, 'tree') },
          { src: p('a2'), dest: p('a3') },
        ]
        const e = await fail(moveFiles(scope, items, undefined, () => Promise.reject(limit)))
        expect({ status: e.status, message: e.message }).toEqual({
          status: 503,
          message:
            "limit reached: at most 1 concurrent tree writes; the first 2 of the batch's 4 moves were made, the last 2 not: ask again for those",
        })
        expect([existsSync(p('a2')), existsSync(p('b2')), existsSync(p('tree')), existsSync(p('a3'))]).toEqual([
          true,
          true,
          true,
          false,
        ])
      } finally {
        rmSync(other, { recursive: true, force: true })
      }
    },
  )
})
