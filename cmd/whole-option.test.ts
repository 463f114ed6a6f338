import { expect, test } from 'bun:test'
import { SILENCE } from './daemon-quiet'
import { ANSWER } from './route-url'
import { PING_PORT } from './verb-numbers'
import { wholeOf, wholeHelp } from './whole-option'

const none = {}

test('--silence-notice is 0 or 1000 ms to a day; not given, the verb keeps its own', () => {
  expect(['0', '1000', '86400000'].map(t => wholeOf(SILENCE, t, none))).toEqual([0, 1000, 86_400_000])
  expect(wholeOf(SILENCE, undefined, none)).toBeUndefined()
  for (const typed of ['999', '86400001', '1.5', 'x', ' 1000'])
    expect(() => wholeOf(SILENCE, undefined, { EXECD_SILENCE_NOTICE: typed })).toThrow(
      `EXECD_SILENCE_NOTICE expects milliseconds from 1000 to 86400000 (0: never), got '${typed}'`,
    )
})

test('what is not digits in the range is refused naming the flag, never read as a number', () => {
  for (const typed of [
    '1e3',
    '0x10',
    ' 5',
    '5 ',
    '-0',
    '-5',
    'Infinity',
    '',
    '+5',
    '5.0',
    '99999999999999999999',
    '31536000001',
  ])
    expect(() => wholeOf(ANSWER, typed, none)).toThrow(
      `--answer-timeout expects milliseconds from 1 to 31536000000 (0: no limit), got '${typed}'`,
    )
  expect(['0', '007', '86400000'].map(t => wholeOf(ANSWER, t, none))).toEqual([0, 7, 86_400_000])
})

test('0 is taken only where it means something', () => {
  expect(() => wholeOf(PING_PORT, '0', none)).toThrow("--port expects a port number from 1 to 65535, got '0'")
})

test('the flag wins over its variable, an empty variable is unset, a bad one is named', () => {
  expect(wholeOf(ANSWER, '5', { EXECD_ANSWER_TIMEOUT: 'x' })).toBe(5)
  expect(wholeOf(ANSWER, undefined, { EXECD_ANSWER_TIMEOUT: '' })).toBeUndefined()
  expect(wholeOf(ANSWER, undefined, { EXECD_ANSWER_TIMEOUT: '7' })).toBe(7)
  expect(() => wholeOf(ANSWER, undefined, { EXECD_ANSWER_TIMEOUT: '1e3' })).toThrow(
    "EXECD_ANSWER_TIMEOUT expects milliseconds from 1 to 31536000000 (0: no limit), got '1e3'",
  )
})

test('a flag given twice is said, not joined into one value', () => {
  expect(() => wholeOf(ANSWER, ['1', '2'], none)).toThrow("--answer-timeout is given 2 times ('1', '2'): give it once")
})

test('help says the range, the default and the variable', () => {
  expect(wholeHelp(SILENCE, 'say it', 10000)).toEqual([
    '--silence-notice <ms>',
    'say it (1000 to 86400000, 0: never; default 10000; env EXECD_SILENCE_NOTICE)',
  ])
})
