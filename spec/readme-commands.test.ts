/**
 * What the README and docs tell a newcomer to type names what is there: each `make` target
 * the Makefile has, each file of this repository it points to, and Bun as `npm ci` brings it
 * (`node_modules/.bin/bun`: nothing puts a `bun` on the PATH). Stop 51's word-by-word reading
 * found `bun scripts/start-time.ts` in the README and `bun run bench/…` in bench/README.md
 * without a word of which bun.
 */
import { expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const top = join(import.meta.dir, '..')
const read = (path: string) => readFileSync(join(top, path), 'utf8')
const DOCS = ['README.md', 'bench/README.md', 'plugins/README.md', 'docs/contract.md', 'docs/stops.md']

/** Spans a reader copies: inline code and the lines of fenced blocks. */
function codeOf(text: string): string[] {
  const fenced = [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].flatMap(([, body]) => body!.split('\n'))
  const inline = [...text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map(([, code]) => code!)
  return [...fenced, ...inline]
}

test('every `make <target>` the docs name is a target of the Makefile', () => {
  const targets = new Set([...read('Makefile').matchAll(/^([a-z][a-z-]*):/gm)].map(([, t]) => t!))
  const named = DOCS.flatMap(doc =>
    codeOf(read(doc)).flatMap(code =>
      [...code.matchAll(/(?:^|[\s;&|(]|=\S+ )make ([a-z][a-z-]*)/g)].map(([, t]) => `${doc}: make ${t}`),
    ),
  )
  expect(named.length).toBeGreaterThan(10)
  expect(named.filter(n => !targets.has(n.split('make ')[1]!))).toEqual([])
})

test('every file of this repository the docs point to is there', () => {
  const DIRS = '(?:cmd|core|plugins|spec|bench|scripts|deploy|docs|\\.ci)/'
  const pathIn = new RegExp(`^(?:\\.\\./)?(${DIRS}[\\w./-]*[\\w-])$`)
  const missing = DOCS.flatMap(doc => {
    const text = read(doc)
    const links = [...text.matchAll(/\]\(([^)#\s]+)\)/g)].map(([, link]) => link!)
    const words = codeOf(text).flatMap(code => code.split(/[\s,;()]+/))
    // A module or a spec is named as imported or as run (`core/config`, `spec/oom-raise-leaf`).
    const here = (p: string) =>
      ['', '.ts', '.test.ts'].some(ext => existsSync(join(top, p + ext)) || existsSync(join(top, doc, '..', p + ext)))
    return (
      [...links, ...words]
        .map(w => pathIn.exec(w)?.[1])
        // bench/results/ is what a run writes (git-ignored).
        .filter((p): p is string => p !== undefined && !/[*<]|^bench\/results\//.test(p))
        .filter(p => !here(p))
        .map(p => `${doc}: ${p}`)
    )
  })
  expect(missing).toEqual([])
})

test('a command running a file with Bun names node_modules/.bin/bun, or the page says that is the one', () => {
  const bare = (text: string) =>
    codeOf(text).filter(code => /(?:^|[\s=;&|(])bun (?:run )?[\w./-]+\.(?:ts|mjs|js)\b/.test(code))
  expect(bare(read('README.md'))).toEqual([])
  expect(bare(read('plugins/README.md'))).toEqual([])
  // bench/README.md writes `bun run bench/…` dozens of times, under one line saying which bun.
  const bench = read('bench/README.md')
  expect(bench).toContain('`bun` in the commands below is `node_modules/.bin/bun`')
  expect(bare(bench.slice(0, bench.indexOf('`bun` in the commands below')))).toEqual([])
})
