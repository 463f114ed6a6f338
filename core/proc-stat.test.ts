import { expect, test } from 'bun:test'
import { parseStat, statFields } from './proc-stat'

test('a command name with spaces and parentheses does not shift the fields', () => {
  expect(parseStat('42 (a) b (c) S 1 42 40 34816 43 4194304 0')).toEqual({
    state: 'S',
    ppid: 1,
    pgid: 42,
    sid: 40,
    tpgid: 43,
  })
  // A name may end in ') ' itself: only the last ')' closes it.
  expect(parseStat('7 (x) R 9 9 9 0 -1) Z 3 7 7 0 -1 4194560')).toMatchObject({ state: 'Z', ppid: 3, tpgid: -1 })
  expect(statFields('7 () ) (() S 1 2')).toEqual(['S', '1', '2'])
})

test('starttime and the thread count are read where the line has them', () => {
  // Fields 4–52 after "pid (comm) state", as a real line has them: num_threads 20, starttime 22.
  const rest = Array.from({ length: 49 }, (_, i) => String(i + 4))
  const stat = parseStat(`100 (sh -c x) S ${rest.join(' ')}`)
  expect(stat).toMatchObject({ state: 'S', ppid: 4, pgid: 5, sid: 6, tpgid: 8, threads: 20, start: 22 })
})

test('text that is not a stat line gives nothing', () => {
  expect(parseStat('not a stat line')).toBeUndefined()
  expect(parseStat('42 (short) S 1')).toBeUndefined()
  expect(parseStat('')).toBeUndefined()
  expect(statFields('no parenthesis')).toEqual([])
})
