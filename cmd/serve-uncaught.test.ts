import { expect, test } from 'bun:test'
import { EventEmitter } from 'node:events'
import { createLogger } from '../core/log'
import { describe as describeError, guardUncaught, isHarmless, UNCAUGHT_STATUS } from './serve-uncaught'

const COLLECTED =
  'A FileHandle object was closed during garbage collection. This used to be allowed with a deprecation warning but is now considered an error. Please close FileHandle objects explicitly. File descriptor: 21 (/etc/hostname)'

function guarded(secrets: string[] = []) {
  const lines: Record<string, unknown>[] = []
  const ends: [string, number][] = []
  const proc = new EventEmitter()
  const log = createLogger('debug', {}, line => lines.push(JSON.parse(line)))
  guardUncaught(log, (reason, status) => ends.push([reason, status]), secrets, proc)
  return { lines, ends, proc }
}

test('only the collected FileHandle is harmless', () => {
  expect(isHarmless(new Error(COLLECTED))).toBe(true)
  expect(isHarmless(new Error('boom'))).toBe(false)
  expect(isHarmless(COLLECTED)).toBe(false) // a thrown string is no finalizer's
  expect(isHarmless(new Error(`wrapped: ${COLLECTED}`))).toBe(false)
})

test('a harmless error is logged (a line a second) and nothing ends', () => {
  const { lines, ends, proc } = guarded()
  for (let i = 0; i < 5; i++) proc.emit('uncaughtException', new Error(COLLECTED))
  expect(ends).toEqual([])
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatchObject({ level: 'warn', kind: 'exception', name: 'Error', message: COLLECTED })
})

test('any other error ends execd once, with one line naming it', () => {
  const { lines, ends, proc } = guarded()
  proc.emit('unhandledRejection', new TypeError('x is not a function'))
  proc.emit('uncaughtException', new Error('a second, while ending'))
  proc.emit('uncaughtException', new Error('a third'))
  expect(ends).toEqual([['uncaught error', UNCAUGHT_STATUS]])
  expect(lines.map(l => [l.level, l.kind, l.message])).toEqual([
    ['error', 'rejection', 'x is not a function'],
    ['error', 'exception', 'a second, while ending'],
  ])
  expect(String(lines[0]!.where)).toStartWith('at ')
})

test('a secret in a message is never logged; a thrown non-error is named by its type', () => {
  const { lines, proc } = guarded(['s3cret-token', ''])
  proc.emit('uncaughtException', new Error('bad header x-execd-access-token: s3cret-token'))
  expect(JSON.stringify(lines)).not.toContain('s3cret')
  expect(lines[0]!.message).toBe('bad header x-execd-access-token: [redacted]')
  expect(describeError(42)).toEqual({ name: 'number', message: '42' })
})
