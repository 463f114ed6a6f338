import { beforeEach, describe, expect, test } from 'bun:test'
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { PathScope } from '../../../core/beneath/path-scope'
import { failure as fail, tempDirPerTest } from '../../../spec/kit/test-roots'
import { replaceInFiles } from './replace'
import { compileGlob, searchFiles } from './search'

let dir = ''
const scope = new PathScope()
tempDirPerTest('execd-search-', d => (dir = d))
beforeEach(() => {
  mkdirSync(join(dir, 'src/lib'), { recursive: true })
  for (const f of ['a.py', 'b.txt', 'src/c.py', 'src/lib/d.py', 'src/lib/e.ts', '.hidden.py', 'x1', 'x2', 'y1']) {
    writeFileSync(join(dir, f), f)
  }
})
const rel = (list: { path: string }[]) => list.map(e => e.path.slice(dir.length + 1))

describe('searchFiles', () => {
  test('a pattern without / matches base names at any depth (dotfiles included)', async () => {
    expect(rel(await searchFiles(scope, dir, '*.py'))).toEqual(['.hidden.py', 'a.py', 'src/c.py', 'src/lib/d.py'])
  })
  test('a pattern with / matches the path relative to the root', async () => {
    expect(rel(await searchFiles(scope, dir, 'src/*.py'))).toEqual(['src/c.py'])
    expect(rel(await searchFiles(scope, dir, 'src/**/*.py'))).toEqual(['src/c.py', 'src/lib/d.py'])
    expect(rel(await searchFiles(scope, dir, '**/*.ts'))).toEqual(['src/lib/e.ts'])
  })
  test('?, [...], [!...] and {a,b}', async () => {
    expect(rel(await searchFiles(scope, dir, 'x?'))).toEqual(['x1', 'x2'])
    expect(rel(await searchFiles(scope, dir, '[xy]1'))).toEqual(['x1', 'y1'])
    expect(rel(await searchFiles(scope, dir, 'x[!1]'))).toEqual(['x2'])
    expect(rel(await searchFiles(scope, dir, 'x[^2]'))).toEqual(['x1'])
    expect(rel(await searchFiles(scope, dir, '!(x*)'))).toEqual([
      '.hidden.py',
      'a.py',
      'b.txt',
      'src/c.py',
      'src/lib/d.py',
      'src/lib/e.ts',
      'y1',
    ])
    expect(rel(await searchFiles(scope, dir, '*.{ts,txt}'))).toEqual(['b.txt', 'src/lib/e.ts'])
  })
  test('default pattern ** returns every non-directory', async () => {
    expect(rel(await searchFiles(scope, dir)).length).toBe(9)
    expect(rel(await searchFiles(scope, dir, '')).length).toBe(9)
  })
  test('symlinks are returned, symlinked directories are not descended', async () => {
    symlinkSync(join(dir, 'src'), join(dir, 'srclink'))
    expect(rel(await searchFiles(scope, dir, 'srclink'))).toEqual(['srclink'])
    expect(rel(await searchFiles(scope, dir, 'srclink/**'))).toEqual(['srclink'])
  })
  test('a bad pattern is 400', async () => {
    for (const p of ['[abc', '{a,b', 'a]', '*(']) {
      const e = await fail(searchFiles(scope, dir, p))
      expect(e.status).toBe(400)
      expect(e.message).toStartWith(`error searching files. invalid pattern ${p}`)
    }
  })
  test('a missing root is 404; a file root is the file when its name matches (the reference)', async () => {
    expect((await fail(searchFiles(scope, join(dir, 'nope'), '*'))).message).toBe(
      `file not found. stat ${join(dir, 'nope')}: no such file or directory`,
    )
    expect((await searchFiles(scope, join(dir, 'a.py'), '*.py')).map(f => f.path)).toEqual([join(dir, 'a.py')])
    expect(await searchFiles(scope, join(dir, 'a.py'), '*.txt')).toEqual([])
  })
})

test('a costly pattern asks for a pause after a few names, a cheap one after many', () => {
  const name = '000001' + 'a'.repeat(249)
  const costly = compileGlob('*a'.repeat(300) + '*b')
  const rounds = (glob: ReturnType<typeof compileGlob>) => {
    for (let i = 1; i <= 10_000; i++) if ((glob.match(name), glob.tired())) return i
    return Infinity
  }
  // 62,000 steps a name: the walk's pause every 256 names came after 16 million.
  expect(rounds(costly)).toBeLessThanOrEqual(2)
  expect(rounds(compileGlob('*.txt'))).toBeGreaterThan(100)
})

describe('replaceInFiles', () => {
  test('replaces every occurrence and counts them per request path', async () => {
    writeFileSync(join(dir, 'r.txt'), 'foo bar foo\nfoo')
    const out = await replaceInFiles(scope, { [join(dir, 'r.txt')]: { old: 'foo', new: 'qux' } })
    expect(out).toEqual({ [join(dir, 'r.txt')]: { replacedCount: 3 } })
    expect(readFileSync(join(dir, 'r.txt'), 'utf8')).toBe('qux bar qux\nqux')
  })
  test('keeps mode and owner, leaves no temp file', async () => {
    const f = join(dir, 'm.sh')
    writeFileSync(f, 'echo a')
    chmodSync(f, 0o751)
    chownSync(f, 12345, 23456)
    await replaceInFiles(scope, { [f]: { old: 'a', new: 'b' } })
    const s = statSync(f)
    expect(s.mode & 0o7777).toBe(0o751)
    expect([s.uid, s.gid]).toEqual([12345, 23456])
    expect(readdirSync(dir).filter(n => n.includes('execd-tmp'))).toEqual([])
  })
  test('through a symlink the target changes and the link stays a link', async () => {
    writeFileSync(join(dir, 't.txt'), 'old')
    symlinkSync('t.txt', join(dir, 'tl'))
    await replaceInFiles(scope, { [join(dir, 'tl')]: { old: 'old', new: 'new' } })
    expect(readFileSync(join(dir, 't.txt'), 'utf8')).toBe('new')
    expect(realpathSync(join(dir, 'tl'))).toBe(join(dir, 't.txt'))
  })
  test('bytes that are not UTF-8 survive', async () => {
    const f = join(dir, 'bin')
    writeFileSync(f, Buffer.from([0xff, 0x61, 0xfe, 0x61]))
    await replaceInFiles(scope, { [f]: { old: 'a', new: 'bb' } })
    expect([...readFileSync(f)]).toEqual([0xff, 0x62, 0x62, 0xfe, 0x62, 0x62])
  })
  test('no match leaves the file untouched and counts 0', async () => {
    writeFileSync(join(dir, 'n.txt'), 'abc')
    const before = statSync(join(dir, 'n.txt')).ino
    expect(await replaceInFiles(scope, { [join(dir, 'n.txt')]: { old: 'zzz', new: 'y' } })).toEqual({
      [join(dir, 'n.txt')]: { replacedCount: 0 },
    })
    expect(statSync(join(dir, 'n.txt')).ino).toBe(before)
  })
  test('missing file is 404; empty old is 400 (checked after existence)', async () => {
    expect((await fail(replaceInFiles(scope, { [join(dir, 'nope')]: { old: 'a', new: 'b' } }))).status).toBe(404)
    const e = await fail(replaceInFiles(scope, { [join(dir, 'a.py')]: { old: '', new: 'b' } }))
    expect([e.status, e.message]).toEqual([400, 'old content must not be empty'])
  })
  test('a directory is 400', async () => {
    expect((await fail(replaceInFiles(scope, { [join(dir, 'src')]: { old: 'a', new: 'b' } }))).status).toBe(400)
  })
  test('one file named twice (by a link, then by its path) gets both replacements, in order', async () => {
    writeFileSync(join(dir, 't.txt'), 'old')
    symlinkSync('t.txt', join(dir, 'tl'))
    const out = await replaceInFiles(scope, {
      [join(dir, 'tl')]: { old: 'old', new: 'mid' },
      [join(dir, 't.txt')]: { old: 'mid', new: 'new' },
    })
    // Both rewrites in one batch: the second read the file as it was and its rename undid the first.
    expect(out).toEqual({ [join(dir, 'tl')]: { replacedCount: 1 }, [join(dir, 't.txt')]: { replacedCount: 1 } })
    expect(readFileSync(join(dir, 't.txt'), 'utf8')).toBe('new')
  })
  test('150 files, the 100th missing: 404, the 99 before it replaced, those after it untouched, no temp file', async () => {
    mkdirSync(join(dir, 'many'))
    const paths = Array.from({ length: 150 }, (_, i) => join(dir, 'many', `f${i}`))
    for (const [i, p] of paths.entries()) if (i !== 99) writeFileSync(p, `${i} old`)
    const e = await fail(replaceInFiles(scope, Object.fromEntries(paths.map(p => [p, { old: 'old', new: 'new' }]))))
    expect(e.status).toBe(404)
    const now = paths.map((p, i) => (i === 99 ? undefined : readFileSync(p, 'utf8')))
    expect(now).toEqual(paths.map((_, i) => (i === 99 ? undefined : `${i} ${i < 99 ? 'new' : 'old'}`)))
    expect(readdirSync(join(dir, 'many')).filter(n => n.includes('execd-tmp'))).toEqual([])
  })
})
