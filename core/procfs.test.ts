import { expect, test } from 'bun:test'
import { listPids, parseStat, readStat } from './procfs'

test('a command name with spaces and parentheses does not shift the fields', () => {
  expect(parseStat('42 (a) b (c) S 1 42 40 34816 43 4194304 0')).toEqual({
    state: 'S',
    ppid: 1,
    pgid: 42,
    sid: 40,
    tpgid: 43,
  })
  expect(parseStat('not a stat line')).toBeUndefined()
  expect(parseStat('42 (short) S 1')).toBeUndefined()
})

test('this process is listed and read with its parent; a pid that is not there reads as undefined', () => {
  expect(listPids()).toContain(process.pid)
  expect(readStat(process.pid)).toMatchObject({ state: expect.any(String), ppid: process.ppid })
  expect(readStat(2 ** 22 + 1)).toBeUndefined()
})
