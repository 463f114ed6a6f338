import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { removeDirs, removeTree } from './keeper-main'

// Every dir a case makes, under one removed at the end.
const base = mkdtempSync(join(tmpdir(), 'keeper-main-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))

/** A dir named as one of execd's (pid 4242's) with `files` files in 10 subdirs, and a link out. */
function execdTree(files: number, outside: string): string {
  const root = join(mkdtempSync(join(base, 'tree-')), 'execd-commands-4242-abc')
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(root, `sub${d}`, 'deeper'), { recursive: true })
    for (let f = 0; f < files / 10; f++) writeFileSync(join(root, `sub${d}`, 'deeper', `f${f}`), '')
  }
  symlinkSync(outside, join(root, 'out'))
  return root
}

test('a tree is removed whole, a link in it unlinked and not followed', () => {
  const outside = mkdtempSync(join(base, 'outside-'))
  writeFileSync(join(outside, 'kept'), 'x')
  const root = execdTree(100, outside)
  removeDirs(new Set([root]), 4242)
  expect(existsSync(root)).toBe(false)
  expect(readdirSync(outside)).toEqual(['kept'])
})

test('one huge tree stops at the bound, not after it: the bound is checked within a tree', () => {
  const outside = mkdtempSync(join(base, 'outside-'))
  const root = execdTree(4_000, outside)
  // 4,000 unlinks take far longer than 5 ms; a removal that ran to the end is one that ignored it.
  removeDirs(new Set([root]), 4242, performance.now() + 5)
  expect(existsSync(root)).toBe(true)
  // What is left is whole entries, and a later removal with time takes the rest.
  expect(removeTree(root, performance.now() + 60_000)).toBe(true)
  expect(existsSync(root)).toBe(false)
}, 60_000)

test("a dir not named as this execd's is left", () => {
  const outside = mkdtempSync(join(base, 'outside-'))
  const root = execdTree(10, outside)
  removeDirs(new Set([root]), 4243)
  expect(existsSync(root)).toBe(true)
})
