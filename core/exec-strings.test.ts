import { describe, expect, test } from 'bun:test'
import {
  argumentProblem,
  envEntryBytes,
  envEntryProblem,
  envsProblem,
  isArgListTooLong,
  MAX_ARG_STRLEN,
  MAX_KEPT_ENV_BYTES,
  MAX_KEPT_ENV_ENTRIES,
} from './exec-strings'

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

test('envs: one rule for every route, names a shell can export only where asked, kept exports bounded', () => {
  expect(envsProblem({ 'a.b': '1', 'A B': '2', 'BASH_FUNC_f%%': '() { :; }' })).toBeUndefined()
  expect(envsProblem({ 'a.b': '1' }, { shell: true })).toContain('not a variable name a shell can export: "a.b"')
  expect(envsProblem({ A: 'x\0' }, { shell: true })).toBe('envs: environment variable A contains a NUL byte')
  expect(envsProblem({ A: 1 })).toBe('envs.A: expected a string')
  expect(envEntryBytes('AB', 'é')).toBe(2 + 2 + 2 + 8)
  // Exactly at the bound, taken; a byte past it, refused; a name given again replaces its bytes.
  const kept = new Map([['K', MAX_KEPT_ENV_BYTES - envEntryBytes('B', 'x')]])
  expect(envsProblem({ B: 'x' }, { kept })).toBeUndefined()
  expect(envsProblem({ B: 'xx' }, { kept })).toContain("the session's exported environment would hold")
  expect(envsProblem({ K: 'y' }, { kept })).toBeUndefined()
  const many = new Map([...Array(MAX_KEPT_ENV_ENTRIES - 1)].map((_, i) => [`V${i}`, 12]))
  expect(envsProblem({ V0: 'again', W: '1' }, { kept: many })).toBeUndefined()
  expect(envsProblem({ W: '1', X: '2' }, { kept: many })).toContain('would hold 4097 entries, more than 4096')
})
