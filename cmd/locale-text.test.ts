import { expect, test } from 'bun:test'
import { localText, utf8Locale } from './locale-text'

test('the locale is UTF-8 by LC_ALL, else LC_CTYPE, else LANG; none set is not', () => {
  expect(utf8Locale({ LANG: 'C.UTF-8' })).toBe(true)
  expect(utf8Locale({ LC_ALL: 'C', LANG: 'C.UTF-8' })).toBe(false)
  expect(utf8Locale({ LC_CTYPE: 'en_US.utf8', LANG: 'C' })).toBe(true)
  expect(utf8Locale({ LC_ALL: '', LC_CTYPE: 'POSIX', LANG: 'en_US.UTF-8' })).toBe(false)
  expect(utf8Locale({})).toBe(false)
})

test('outside UTF-8 the marks are ASCII; anything else is left', () => {
  const banner = 'execd ruby — Ctrl-C interrupts, args…'
  expect(localText(banner, true)).toBe(banner)
  expect(localText(banner, false)).toBe('execd ruby - Ctrl-C interrupts, args...')
  expect(localText('the terminal’s é', false)).toBe("the terminal's é")
})
