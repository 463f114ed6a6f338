import { expect, test } from 'bun:test'
import { isWithheld } from './child-env'
import { DEFAULT_PERIODS, PERIODS_ENV, periodsFrom } from './periods'

test('unset or empty, every period is its default', () => {
  expect(periodsFrom(undefined)).toEqual(DEFAULT_PERIODS)
  expect(periodsFrom('')).toEqual(DEFAULT_PERIODS)
})

test('a named period is shortened, the others kept', () => {
  expect(periodsFrom('sweep:2000, settle : 300')).toEqual({ ...DEFAULT_PERIODS, sweep: 2000, settle: 300 })
})

test('a value only shortens its period, never below 50 ms', () => {
  expect(periodsFrom('walk:999999999,probe:0,channel:1')).toEqual({ ...DEFAULT_PERIODS, probe: 50, channel: 50 })
})

test('unknown names, bad numbers and stray text leave the defaults', () => {
  for (const text of [
    'sweeps:10',
    'sweep:-1',
    'sweep:1e3',
    'sweep:1.5',
    'sweep',
    'constructor:10',
    '__proto__:10',
    ':',
  ])
    expect(periodsFrom(text)).toEqual(DEFAULT_PERIODS)
  expect(periodsFrom(`${'x'.repeat(2000)},sweep:100`)).toEqual(DEFAULT_PERIODS)
})

test('no child is handed the variable: it is for execd alone', () => {
  expect(isWithheld(PERIODS_ENV)).toBe(true)
})
