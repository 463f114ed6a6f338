/**
 * `GET /files/search` rooted at a file answers as the reference does: its walk of a file visits
 * the file alone, so the answer is the file when its name matches the pattern, else `[]`. It was
 * a 400 (`path is not a directory`), an answer the reference never gives. The file's FileInfo
 * is the one a search of its directory answers for it; `execd fs search` says the same.
 */
import { expect, test } from 'bun:test'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('search-file')

const search = async (path: string, pattern?: string) => {
  const query = `path=${encodeURIComponent(path)}${pattern === undefined ? '' : `&pattern=${encodeURIComponent(pattern)}`}`
  const res = await fx.d.fetch(`/files/search?${query}`)
  return { status: res.status, body: (await res.json()) as { path: string }[] }
}

test('a file root: the file when its name matches, [] when not', async () => {
  const dir = join(fx.tmp, 'one')
  mkdirSync(dir)
  const file = join(dir, 'notes.txt')
  writeFileSync(file, 'hello')
  const fromDir = await search(dir, 'notes.txt')
  expect(fromDir.body.map(f => f.path)).toEqual([file])
  for (const pattern of [undefined, '*.txt', 'notes.*', '**/*.txt', '**'])
    expect([pattern, await search(file, pattern)]).toEqual([pattern, fromDir])
  for (const pattern of ['*.py', 'one/*.txt'])
    expect([pattern, await search(file, pattern)]).toEqual([pattern, { status: 200, body: [] }])
})

test('a symlink root to a file is followed, as one to a directory is', async () => {
  const file = join(fx.tmp, 'target.md')
  writeFileSync(file, '#')
  symlinkSync(file, join(fx.tmp, 'link.md'))
  const { status, body } = await search(join(fx.tmp, 'link.md'), '*.md')
  expect({ status, count: body.length }).toEqual({ status: 200, count: 1 })
})

test('a missing root is still the 404, and a bad pattern the 400', async () => {
  expect((await search(join(fx.tmp, 'nope.txt'))).status).toBe(404)
  const file = join(fx.tmp, 'x.txt')
  writeFileSync(file, '')
  expect((await search(file, '[ab')).status).toBe(400)
})

test('execd fs search of a file, here and with --url', async () => {
  const file = join(fx.tmp, 'cli.log')
  writeFileSync(file, 'x')
  for (const remote of [[], ['--url', fx.d.url]]) {
    const run = await runCli(['fs', 'search', file, '*.log', ...remote], { env: { EXECD_ACCESS_TOKEN: fx.d.token } })
    expect([remote.length, run.code, run.stdout.includes('cli.log'), run.stderr]).toEqual([remote.length, 0, true, ''])
  }
})
