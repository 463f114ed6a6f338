import { expect, test } from 'bun:test'
import { closeSync, constants, lstatSync, mkdirSync, openSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errnoOf } from '../../core/errors'
import { entryStatOf, statAt } from './stat-at'
import { tempDirPerTest } from '../../spec/kit/test-roots'

let dir = ''
tempDirPerTest('execd-stat-at-', d => (dir = d))

test('statx at the descriptor says what lstat of the path says, a symlink not followed', () => {
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'file'), 'abc')
  symlinkSync('file', join(dir, 'link'))
  const latin = Buffer.from([0x6e, 0xe9])
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin]), 'de')
  writeFileSync(join(dir, 'n'.repeat(255)), '')
  utimesSync(join(dir, 'file'), new Date(-1500), new Date(1_700_000_000_250))
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    for (const name of ['sub', 'file', 'link', latin, 'n'.repeat(255)]) {
      const path = typeof name === 'string' ? join(dir, name) : Buffer.concat([Buffer.from(`${dir}/`), name])
      expect(statAt(fd, name)).toEqual(entryStatOf(lstatSync(path, { bigint: true })))
    }
    expect(statAt(fd, 'link').size).toBe(4)
    expect(statAt(fd, 'file')).toMatchObject({ size: 3, mtimeSec: 1_700_000_000, mtimeNsec: 250_000_000 })
    let missing: unknown
    try {
      statAt(fd, 'gone')
    } catch (err) {
      missing = err
    }
    expect(errnoOf(missing)).toBe('ENOENT')
  } finally {
    closeSync(fd)
  }
})

test('a time before 1970: whole seconds floored, nanoseconds never negative', () => {
  const at = join(dir, 'old')
  writeFileSync(at, '')
  // As Dates: Bun 1.4.5's utimesSync took -1.5 (a number) for another time altogether.
  utimesSync(at, new Date(-1500), new Date(-1500))
  const s = entryStatOf(lstatSync(at, { bigint: true }))
  expect([s.mtimeSec, s.mtimeNsec]).toEqual([-2, 500_000_000])
})
