import { afterEach, expect, test } from 'bun:test'
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyChanges, replaceByExchange } from './commit'
import { changesOf } from './overlay'

let dirs: string[] = []
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  dirs = []
})

function layers() {
  const root = mkdtempSync(join(tmpdir(), 'execd-commit-unit-'))
  dirs.push(root)
  const ws = join(root, 'ws')
  const upper = join(root, 'upper')
  mkdirSync(ws)
  mkdirSync(upper)
  return { ws, upper }
}

test('a file that became a directory and a directory that became a file are replaced whole', async () => {
  const { ws, upper } = layers()
  writeFileSync(join(ws, 'f'), 'file\n')
  mkdirSync(join(ws, 'd'))
  writeFileSync(join(ws, 'd', 'old.txt'), 'old\n')
  mkdirSync(join(upper, 'f', 'deep'), { recursive: true })
  writeFileSync(join(upper, 'f', 'deep', 'x.txt'), 'x\n')
  writeFileSync(join(upper, 'd'), 'now a file\n')
  const { applied } = await applyChanges((await changesOf(upper, ws)).changes, upper, ws)
  expect(applied.map(c => c.path.slice(ws.length + 1))).toEqual(['d', 'f', 'f/deep', 'f/deep/x.txt'])
  expect(readFileSync(join(ws, 'd'), 'utf8')).toBe('now a file\n')
  expect(readFileSync(join(ws, 'f', 'deep', 'x.txt'), 'utf8')).toBe('x\n')
  expect(readdirSync(ws).sort()).toEqual(['d', 'f'])
})

test('a change that cannot be staged commits nothing and names no path of the upper layer', async () => {
  const { ws, upper } = layers()
  writeFileSync(join(ws, 'a.txt'), 'hi\n')
  writeFileSync(join(upper, 'a.txt'), 'changed\n')
  mkdirSync(join(upper, 'nd'))
  writeFileSync(join(upper, 'nd', 'z.txt'), 'z\n')
  const changes = (await changesOf(upper, ws)).changes
  rmSync(join(upper, 'nd', 'z.txt')) // gone between the diff and the commit
  const err = await applyChanges(changes, upper, ws).catch(e => e as Error)
  expect(err).toBeInstanceOf(Error)
  expect((err as Error).message).toStartWith(`commit failed at ${join(ws, 'nd', 'z.txt')}: ENOENT`)
  expect((err as Error).message).toContain('nothing was committed')
  expect((err as Error).message).not.toContain(upper)
  expect(readdirSync(ws)).toEqual(['a.txt'])
  expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('hi\n')
})

test('a replacement whose rename fails puts the old entry back whole, and leaves nothing aside', async () => {
  const { ws } = layers()
  mkdirSync(join(ws, 'd', 'sub'), { recursive: true })
  writeFileSync(join(ws, 'd', 'sub', 'keep.txt'), 'kept\n')
  // The staged entry is gone by the time it is placed: its rename fails (ENOENT).
  const err = await replaceByExchange(join(ws, '.execd-commit-gone'), join(ws, 'd')).catch(e => e as Error)
  expect((err as NodeJS.ErrnoException).code).toBe('ENOENT')
  expect(readFileSync(join(ws, 'd', 'sub', 'keep.txt'), 'utf8')).toBe('kept\n')
  expect(readdirSync(ws)).toEqual(['d'])
})

test('a FIFO the session made is committed as a FIFO with its mode, at the top and inside a new directory', async () => {
  const { ws, upper } = layers()
  mkdirSync(join(upper, 'nd'))
  for (const [path, mode] of [
    ['pipe', '640'],
    ['nd/inner', '600'],
  ] as const)
    expect(Bun.spawnSync(['mkfifo', '-m', mode, join(upper, path)]).exitCode).toBe(0)
  const { applied } = await applyChanges((await changesOf(upper, ws)).changes, upper, ws)
  expect(applied.map(c => c.path.slice(ws.length + 1))).toEqual(['nd', 'nd/inner', 'pipe'])
  const kind = (path: string) => {
    const st = lstatSync(join(ws, path))
    return { fifo: st.isFIFO(), mode: (st.mode & 0o777).toString(8) }
  }
  expect([kind('pipe'), kind('nd/inner')]).toEqual([
    { fifo: true, mode: '640' },
    { fifo: true, mode: '600' },
  ])
  expect(readdirSync(ws).sort()).toEqual(['nd', 'pipe'])
})

test('a socket and a device node are left out and named as skipped; the diff tells them from a FIFO', async () => {
  const { ws, upper } = layers()
  mkdirSync(join(upper, 'nd'))
  expect(Bun.spawnSync(['mkfifo', join(upper, 'pipe')]).exitCode).toBe(0)
  const bind = `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(upper, 'nd', 'sock'))})`
  expect(Bun.spawnSync(['python3', '-c', bind]).exitCode).toBe(0)
  // (a device node needs CAP_MKNOD: left out of the case where it cannot be made)
  const device = Bun.spawnSync(['mknod', join(upper, 'null'), 'c', '1', '3']).exitCode === 0
  const changes = (await changesOf(upper, ws)).changes
  const typed = (list: { path: string; type: string }[]) => list.map(c => [c.path.slice(ws.length + 1), c.type])
  // On the build before, each of the three was `other`.
  expect(typed(changes)).toEqual([
    ['nd', 'directory'],
    ['nd/sock', 'socket'],
    ...(device ? [['null', 'device']] : []),
    ['pipe', 'fifo'],
  ])
  const { applied, skipped } = await applyChanges(changes, upper, ws)
  expect(typed(applied)).toEqual([
    ['nd', 'directory'],
    ['pipe', 'fifo'],
  ])
  expect(typed(skipped)).toEqual([['nd/sock', 'socket'], ...(device ? [['null', 'device']] : [])])
  expect(readdirSync(ws).sort()).toEqual(['nd', 'pipe'])
  expect(readdirSync(join(ws, 'nd'))).toEqual([])
})
