import { expect, test } from 'bun:test'
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readDirNames, type DirNames } from './dir-names'
import { tempDirPerTest } from '../../../spec/kit/test-roots'

let dir = ''
tempDirPerTest('execd-dir-names-', d => (dir = d))

async function namesOf(path: string): Promise<DirNames> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    return await readDirNames(fd)
  } finally {
    closeSync(fd)
  }
}

const all = (names: DirNames) => Array.from({ length: names.count }, (_, i) => [names.name(i), names.isDirectory(i)])

test('names in the order of their bytes, with their kinds; one that is not UTF-8 as its bytes', async () => {
  mkdirSync(join(dir, 'b-dir'))
  writeFileSync(join(dir, 'a'), '')
  writeFileSync(join(dir, 'Z'), '')
  writeFileSync(join(dir, 'é'), '') // c3 a9
  writeFileSync(join(dir, '😀'), '') // f0 9f 98 80: after U+FFFD (ef bf bd) as bytes, before it as UTF-16
  writeFileSync(join(dir, '\uFFFD'), '')
  symlinkSync('b-dir', join(dir, 'ab'))
  const latin = Buffer.from([0x6e, 0xe9]) // "n" then a stray byte
  writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin]), '')
  expect(all(await namesOf(dir))).toEqual([
    ['Z', false],
    ['a', false],
    ['ab', false],
    ['b-dir', true],
    [latin, false],
    ['é', false],
    ['\uFFFD', false],
    ['😀', false],
  ])
})

test('a name that is a prefix of another comes first; an empty directory has none', async () => {
  for (const name of ['ab', 'a', 'abc', 'a-']) writeFileSync(join(dir, name), '')
  expect(all(await namesOf(dir)).map(([name]) => name)).toEqual(['a', 'a-', 'ab', 'abc'])
  mkdirSync(join(dir, 'empty'))
  expect((await namesOf(join(dir, 'empty'))).count).toBe(0)
})

test('more names and bytes than the first buffers hold are all kept, in order', async () => {
  // 2,000 names of 40 bytes: 80 KB of names, past the first 16 KiB and 512 names more than once.
  const made = Array.from({ length: 2_000 }, (_, i) => `${String((i * 7919) % 2_000).padStart(5, '0')}`.padEnd(40, 'x'))
  for (const name of made) writeFileSync(join(dir, name), '')
  const names = await namesOf(dir)
  expect(all(names).map(([name]) => name)).toEqual([...made].sort())
})
