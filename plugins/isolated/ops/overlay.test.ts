import { afterEach, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyChanges } from './commit'
import { changesOf, patchOf } from './overlay'

let dirs: string[] = []
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  dirs = []
})

/** A workspace and an upper layer as an overlay session leaves them (whiteouts need root: mknod). */
function layers() {
  const root = mkdtempSync(join(tmpdir(), 'execd-overlay-unit-'))
  dirs.push(root)
  const ws = join(root, 'ws')
  const upper = join(root, 'upper')
  mkdirSync(join(ws, 'sub'), { recursive: true })
  mkdirSync(upper)
  writeFileSync(join(ws, 'a.txt'), 'hi\n')
  writeFileSync(join(ws, 'same.txt'), 'same\n')
  writeFileSync(join(ws, 'sub', 'k.txt'), 'k\n')
  writeFileSync(join(upper, 'a.txt'), 'changed\n')
  writeFileSync(join(upper, 'same.txt'), 'same\n') // a copy-up without a change
  mkdirSync(join(upper, 'nd'))
  writeFileSync(join(upper, 'nd', 'z.txt'), 'z\n')
  symlinkSync('a.txt', join(upper, 'link'))
  const whiteout = Bun.spawnSync(['mknod', join(upper, 'sub'), 'c', '0', '0'])
  return { ws, upper, whiteouts: whiteout.exitCode === 0 }
}

test('changes: added, modified and (by whiteout) deleted, parents first, unchanged copy-ups left out', async () => {
  const { ws, upper, whiteouts } = layers()
  const { changes, truncated } = await changesOf(upper, ws)
  expect(truncated).toBe(false)
  const expected = [
    ['a.txt', 'modified', 'file'],
    ['link', 'added', 'symlink'],
    ['nd', 'added', 'directory'],
    ['nd/z.txt', 'added', 'file'],
    ...(whiteouts ? [['sub', 'deleted', 'directory']] : []),
  ]
  expect(changes.map(c => [c.path.slice(ws.length + 1), c.change, c.type])).toEqual(expected)
  expect(changes[0]).toMatchObject({ size_before: 3, size_after: 8 })
})

test('a merged view tells the deletions instead of whiteouts', async () => {
  const { ws, upper } = layers()
  // The session's root, with its view of the workspace at the workspace's path.
  const root = mkdtempSync(join(tmpdir(), 'execd-overlay-root-'))
  dirs.push(root)
  const merged = join(root, ws)
  mkdirSync(merged, { recursive: true })
  for (const n of ['a.txt', 'same.txt']) writeFileSync(join(merged, n), '')
  const deleted = (await changesOf(upper, ws, root)).changes.filter(c => c.change === 'deleted')
  expect(deleted.map(c => c.path.slice(ws.length + 1))).toEqual(['sub'])
})

test('patch: a unified diff of the text files', async () => {
  const { ws, upper } = layers()
  const { patch } = await patchOf((await changesOf(upper, ws)).changes, upper, ws)
  expect(patch).toContain('--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-hi\n+changed\n')
  expect(patch).toContain('+++ b/nd/z.txt')
})

test('apply: the workspace gets every change, no temp file left', async () => {
  const { ws, upper, whiteouts } = layers()
  await applyChanges((await changesOf(upper, ws)).changes, upper, ws)
  expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('changed\n')
  expect(readFileSync(join(ws, 'nd', 'z.txt'), 'utf8')).toBe('z\n')
  expect(readdirSync(ws).sort()).toEqual(['a.txt', 'link', 'nd', 'same.txt', ...(whiteouts ? [] : ['sub'])])
})

test('patch: a name with a newline, a quote or non-ASCII is C-quoted, and git apply makes that file', async () => {
  const { ws, upper } = layers()
  // A directory's name can hold the newline and the `+++ b` a header line needs.
  const evil = 'x\n+++ b/evil"é'
  mkdirSync(join(upper, 'x\n+++ b'))
  writeFileSync(join(upper, evil), 'new\n')
  const { patch } = await patchOf((await changesOf(upper, ws)).changes, upper, ws)
  expect(patch).toContain('+++ "b/x\\n+++ b/evil\\"\\303\\251"\n')
  expect(patch.split('\n')).not.toContain('+++ b/evil"é')
  // The patch made the session's changes, and no other, in a copy of the workspace.
  const copy = mkdtempSync(join(tmpdir(), 'execd-overlay-apply-'))
  dirs.push(copy)
  Bun.spawnSync(['cp', '-a', `${ws}/.`, copy])
  const applied = Bun.spawnSync(['git', 'apply', '--unsafe-paths', '-'], { cwd: copy, stdin: Buffer.from(patch) })
  expect(applied.stderr.toString()).toBe('')
  expect(readFileSync(join(copy, evil), 'utf8')).toBe('new\n')
  expect(readdirSync(copy)).not.toContain('evil"é')
})
