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

/** An error as Bun's finalizer throws it (its code and its frame), in other words than today's. */
function reworded(message: string, frame = 'at onFileHandleCollected (node:fs/promises:119:78)'): Error {
  const err = Object.assign(new Error(message), { code: 'ERR_INVALID_STATE' })
  err.stack = `Error: ${message}\n    ${frame}`
  return err
}

test("the collector's FileHandle error is known by its code and finalizer too, whatever its words", () => {
  expect(isHarmless(reworded('FileHandle for fd 9 was garbage-collected; close it yourself'))).toBe(true)
  // The same code from anywhere else is not the finalizer's.
  expect(isHarmless(reworded('invalid state', 'at write (node:fs/promises:300:10)'))).toBe(false)
  expect(isHarmless(reworded('invalid state', 'at main (/app/x.js:1:1)'))).toBe(false)
  expect(isHarmless(Object.assign(new Error('reworded'), { code: 'EBADF' }))).toBe(false)
})

test('the error Bun raises today for a leaked FileHandle is harmless (raised for real, in a process of its own)', () => {
  const script = `
    const { isHarmless } = require(${JSON.stringify(`${import.meta.dir}/serve-uncaught.ts`)})
    const { open } = require('node:fs/promises')
    const seen = []
    process.on('uncaughtException', e => seen.push([isHarmless(e), isHarmless(Object.assign(e, { message: 'reworded' }))]))
    ;(async () => {
      for (let i = 0; i < 3; i++) await open('/proc/self/stat')
      for (let i = 0; i < 20 && seen.length < 3; i++) { Bun.gc(true); await Bun.sleep(20) }
      console.log(JSON.stringify(seen))
    })()`
  const run = Bun.spawnSync([process.execPath, '-e', script])
  const seen = JSON.parse(run.stdout.toString()) as boolean[][]
  expect(seen.length).toBeGreaterThan(0)
  // Harmless as it comes, and still when its message is reworded (its code and stack say it).
  expect(seen.every(([asIs, reworded]) => asIs && reworded)).toBe(true)
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
