import { expect, test } from 'bun:test'
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errnoOf } from '../errors'
import { readEntries } from './dir-read'
import { failure, tempDirPerTest } from '../../spec/kit/test-roots'

let dir = ''
tempDirPerTest('execd-dir-read-', d => (dir = d))
const openDir = (path: string) => openSync(path, constants.O_RDONLY | constants.O_DIRECTORY)

test('every name with its kind, bytes that are not UTF-8 as bytes, `.` and `..` left out', async () => {
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'file'), '')
  symlinkSync('sub', join(dir, 'link'))
  const latin = Buffer.from([0x6e, 0xe9])
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin]), '')
  const fd = openDir(dir)
  try {
    const byName = (await readEntries(fd)).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    expect(byName).toEqual([
      { name: 'file', isDirectory: false },
      { name: 'link', isDirectory: false },
      { name: latin, isDirectory: false },
      { name: 'sub', isDirectory: true },
    ])
  } finally {
    closeSync(fd)
  }
})

test('a directory of many buffers is read whole, and again from its start', async () => {
  for (let i = 0; i < 2_000; i++) writeFileSync(join(dir, `name-${i}`.padEnd(40, 'x')), '')
  const fd = openDir(dir)
  try {
    const first = await readEntries(fd)
    expect(new Set(first.map(e => e.name)).size).toBe(2_000)
    expect((await readEntries(fd)).length).toBe(2_000)
  } finally {
    closeSync(fd)
  }
})

test('a descriptor that is not a directory fails with its code', async () => {
  writeFileSync(join(dir, 'file'), '')
  const fd = openSync(join(dir, 'file'), 'r')
  try {
    expect(errnoOf(await failure(readEntries(fd)))).toBe('ENOTDIR')
  } finally {
    closeSync(fd)
  }
})
