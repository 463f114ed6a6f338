/**
 * The interpreters execd runs as Bun (javascript, typescript, sql) write nothing under $HOME:
 * Bun's transpiler cache went to $HOME/.bun/install/cache, outside a --root the daemon was
 * confined to.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('home', () => {
  mkdirSync(home)
  mkdirSync(root)
  return { args: ['--root', root], env: { HOME: home } }
})
const base = fx.tmp
const home = join(base, 'home')
const root = join(base, 'root')

const result = async (language: string, code: string) =>
  (await readSse(await postJson(fx.d, '/code', { code, context: { language } }))).find(f => f.data.type === 'result')
    ?.data.results['text/plain']

test('javascript, typescript and sql cells leave $HOME as it was', async () => {
  expect(await result('javascript', '20 + 22')).toBe('42')
  expect(await result('typescript', 'const n: number = 41; n + 1')).toBe('42')
  expect(await result('sql', 'SELECT 6 * 7 AS x')).toContain('42')
  expect([existsSync(join(home, '.bun')), readdirSync(home)]).toEqual([false, []])
})

test('a cell sees the setting, so the Bun processes it starts write no cache either', async () => {
  expect(await result('javascript', 'process.env.BUN_RUNTIME_TRANSPILER_CACHE_PATH')).toBe("'0'")
})
