import { expect, test } from 'bun:test'
import { libcFile, libcSymbols } from './libc'

test('libcSymbols calls into the C library this process runs on', () => {
  const c = libcSymbols(({ FFIType }) => ({ getpid: { args: [], returns: FFIType.i32 } }))
  expect(c?.symbols.getpid()).toBe(process.pid)
})

test('a symbol the C library lacks is null, not a throw: the caller falls back', () => {
  expect(libcSymbols(({ FFIType }) => ({ no_such_symbol_here: { args: [], returns: FFIType.i32 } }))).toBeNull()
})

test('the mapped C library is found in /proc/self/maps', () => {
  expect(libcFile()).toMatch(/^\/.*\/(libc\.so|libc-|ld-musl-|libc\.musl-)/)
})
