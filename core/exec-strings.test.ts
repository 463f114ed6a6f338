import { describe, expect, test } from 'bun:test'
import { argumentProblem, envEntryProblem, isArgListTooLong, MAX_ARG_STRLEN } from './exec-strings'

describe('exec strings', () => {
  test('an argument fits up to MAX_ARG_STRLEN - 1 bytes in UTF-8, its NUL being the last', () => {
    expect(argumentProblem('command', 'a'.repeat(MAX_ARG_STRLEN - 1))).toBeUndefined()
    expect(argumentProblem('command', 'a'.repeat(MAX_ARG_STRLEN))).toContain('longer than one argument')
    // Counted in bytes, not characters: 'é' is two.
    expect(argumentProblem('command', 'é'.repeat(MAX_ARG_STRLEN / 2))).toContain('longer than one argument')
    expect(argumentProblem('command', 'a\0b')).toBe('command contains a NUL byte')
  })
  test('an environment entry: a name that is not empty and has no = or NUL; NAME=value counted whole', () => {
    expect(envEntryProblem('1 A.ü', 'v')).toBeUndefined()
    expect(envEntryProblem('', 'v')).toContain('empty')
    expect(envEntryProblem('A=B', 'v')).toContain("'='")
    expect(envEntryProblem('A\0', 'v')).toContain('NUL')
    expect(envEntryProblem('A\nB', '1')).toContain('newline')
    expect(envEntryProblem('A', 'v\0')).toContain('NUL')
    expect(envEntryProblem('AB', 'x'.repeat(MAX_ARG_STRLEN - 4))).toBeUndefined()
    expect(envEntryProblem('AB', 'x'.repeat(MAX_ARG_STRLEN - 3))).toContain('longer than one entry')
  })
  test('E2BIG is told from other spawn failures by its code', () => {
    expect(isArgListTooLong(Object.assign(new Error('x'), { code: 'E2BIG' }))).toBe(true)
    expect(isArgListTooLong(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false)
    expect(isArgListTooLong(undefined)).toBe(false)
  })
})

test('a lone surrogate is no argument and no environment entry: it would reach the child as U+FFFD', () => {
  expect(argumentProblem('command', 'a\ud800')).toContain('not valid Unicode')
  expect(argumentProblem('command', 'a\ud83d\ude00')).toBeUndefined()
  expect(envEntryProblem('A', '\udc00')).toContain('not valid Unicode')
  expect(envEntryProblem('\ud800', 'v')).toContain('not valid Unicode')
})
