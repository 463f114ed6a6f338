import { beforeEach, describe, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PathScope } from '../../../core/beneath/path-scope'
import { failure as fail, tempDirPerTest } from '../../../spec/kit/test-roots'
import { statFiles } from './info'
import { listDirectory, parseDepth } from './list'

let dir = ''
const scope = new PathScope()
tempDirPerTest('execd-info-', d => (dir = d))

describe('statFiles', () => {
  test('reports file, directory and symlink (not followed), keyed by the request path', async () => {
    writeFileSync(join(dir, 'f.txt'), 'abcd')
    chmodSync(join(dir, 'f.txt'), 0o640)
    symlinkSync('f.txt', join(dir, 'link'))
    const out = await statFiles(scope, [join(dir, 'f.txt'), dir, join(dir, 'link')])
    expect(out[join(dir, 'f.txt')]).toMatchObject({
      path: join(dir, 'f.txt'),
      type: 'file',
      size: 4,
      mode: 640,
      owner: 'root',
    })
    expect(out[dir]?.type).toBe('directory')
    expect(out[join(dir, 'link')]).toMatchObject({ type: 'symlink', size: 5 })
    expect(out[join(dir, 'f.txt')]?.modified_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  })

  test('no paths → {}', async () => {
    expect(await statFiles(scope, [])).toEqual({})
  })

  test('a missing path is 404 with the reference message', async () => {
    const e = await fail(statFiles(scope, [join(dir, 'nope')]))
    expect(e.status).toBe(404)
    expect(e.message).toBe(
      `file not found. file not found: ${join(dir, 'nope')}: lstat ${join(dir, 'nope')}: no such file or directory`,
    )
  })

  test('unicode names and empty files', async () => {
    writeFileSync(join(dir, '测试 файл.txt'), '')
    const out = await statFiles(scope, [join(dir, '测试 файл.txt')])
    expect(out[join(dir, '测试 файл.txt')]?.size).toBe(0)
  })

  test('a dangling symlink is reported as a symlink', async () => {
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'))
    expect((await statFiles(scope, [join(dir, 'dangling')]))[join(dir, 'dangling')]?.type).toBe('symlink')
  })
})

describe('listDirectory', () => {
  beforeEach(() => {
    mkdirSync(join(dir, 'alpha/deep'), { recursive: true })
    writeFileSync(join(dir, 'alpha/y.txt'), 'y')
    writeFileSync(join(dir, 'alpha/x.txt'), 'x')
    writeFileSync(join(dir, 'alpha/deep/z.txt'), 'z')
    writeFileSync(join(dir, 'charlie.txt'), 'c')
    writeFileSync(join(dir, 'bravo.txt'), 'b')
  })
  const names = (list: { path: string }[]) => list.map(e => e.path.slice(dir.length + 1))

  test('depth 1 (default) lists the entries sorted by name', async () => {
    expect(names(await listDirectory(scope, dir))).toEqual(['alpha', 'bravo.txt', 'charlie.txt'])
  })
  test('depth 2 is depth-first pre-order', async () => {
    expect(names(await listDirectory(scope, dir, 2))).toEqual([
      'alpha',
      'alpha/deep',
      'alpha/x.txt',
      'alpha/y.txt',
      'bravo.txt',
      'charlie.txt',
    ])
  })
  test('depth 0 → []', async () => {
    expect(await listDirectory(scope, dir, 0)).toEqual([])
  })
  test('symlinked directories are listed, not followed', async () => {
    symlinkSync(join(dir, 'alpha'), join(dir, 'zlink'))
    const list = await listDirectory(scope, dir, 5)
    expect(list.at(-1)).toMatchObject({ path: join(dir, 'zlink'), type: 'symlink' })
    expect(names(list).filter(n => n.startsWith('zlink/'))).toEqual([])
  })
  test('names sort by bytes (uppercase before lowercase, ASCII before unicode)', async () => {
    const d = join(dir, 'sorted')
    mkdirSync(d)
    for (const n of ['é', 'b', 'B', 'a', '_']) writeFileSync(join(d, n), '')
    expect((await listDirectory(scope, d)).map(e => e.path.slice(d.length + 1))).toEqual(['B', '_', 'a', 'b', 'é'])
  })
  // root reads everything: spec/files.test.ts checks this as an unprivileged user (setpriv).
  test.skipIf(process.getuid?.() === 0)('an unreadable subdirectory is listed but not entered', async () => {
    chmodSync(join(dir, 'alpha/deep'), 0)
    const list = names(await listDirectory(scope, dir, 3))
    expect(list).toContain('alpha/deep')
    expect(list).not.toContain('alpha/deep/z.txt')
  })
  test('a symlink root is 400, a file root is 400, a missing root is 404', async () => {
    symlinkSync(join(dir, 'alpha'), join(dir, 'rootlink'))
    writeFileSync(join(dir, 'file'), '')
    expect((await fail(listDirectory(scope, join(dir, 'rootlink')))).message).toBe(
      `path is a symbolic link, refusing to traverse: ${join(dir, 'rootlink')}`,
    )
    expect((await fail(listDirectory(scope, join(dir, 'file')))).message).toBe(
      `path is not a directory: ${join(dir, 'file')}`,
    )
    expect((await fail(listDirectory(scope, join(dir, 'missing')))).status).toBe(404)
  })
  test('parseDepth: default 1, digits only', () => {
    expect(parseDepth(undefined)).toBe(1)
    expect(parseDepth('3')).toBe(3)
    expect(() => parseDepth('-1')).toThrow("invalid query parameter 'depth': -1")
    expect(() => parseDepth('abc')).toThrow("invalid query parameter 'depth': abc")
  })
})
