import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { RENAME_EXCHANGE, RENAME_NOREPLACE, renameWithFlags } from './renameat2'

const dir = mkdtempSync(join(tmpdir(), 'execd-renameat2-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name))
const read = (name: string) => readFileSync(join(dir, name), 'utf8')

test.skipIf(process.platform !== 'linux')('RENAME_NOREPLACE leaves what is there and answers EEXIST', () => {
  const [a, b] = [file('a', 'A'), file('b', 'B')]
  expect(renameWithFlags(a, b, RENAME_NOREPLACE)).toBe(constants.errno.EEXIST)
  expect([read('a'), read('b')]).toEqual(['A', 'B'])
  expect(renameWithFlags(a, Buffer.from(join(dir, 'c')), RENAME_NOREPLACE)).toBe(0)
  expect(read('c')).toBe('A')
  expect(renameWithFlags(a, join(dir, 'd'), RENAME_NOREPLACE)).toBe(constants.errno.ENOENT)
})

test.skipIf(process.platform !== 'linux')('RENAME_EXCHANGE swaps two names', () => {
  const [x, y] = [file('x', 'X'), file('y', 'Y')]
  expect(renameWithFlags(x, y, RENAME_EXCHANGE)).toBe(0)
  expect([read('x'), read('y')]).toEqual(['Y', 'X'])
})
