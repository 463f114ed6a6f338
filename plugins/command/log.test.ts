import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandLog, HELD_MAX } from './log'

const dir = mkdtempSync(join(tmpdir(), 'execd-command-log-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const failing = (code: string) => Object.assign(new Error(`${code}: open`), { code })

/** A log whose open fails with `code` while `state.failing`. */
function logAt(name: string, code = 'EMFILE') {
  const path = join(dir, name)
  const state = { failing: true }
  const log = new CommandLog(() => {
    if (state.failing) throw failing(code)
    return path
  })
  return { log, state, path }
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('a command log opened while execd has no descriptor to spare', () => {
  test('holds the output and writes it first once a later chunk finds a descriptor', () => {
    const { log, state, path } = logAt('later')
    expect(log.write(bytes('first\n'))).toBe(6)
    expect(existsSync(path)).toBe(false)
    state.failing = false
    expect(log.write(bytes('second\n'))).toBe(7)
    log.close()
    expect(readFileSync(path, 'utf8')).toBe('first\nsecond\n')
    expect(log.truncated).toBeUndefined()
  })

  test('writes what it holds at the end, when the output stopped before a descriptor came back', () => {
    const { log, state, path } = logAt('at-close')
    log.write(bytes('only\n'))
    state.failing = false
    log.close()
    expect(readFileSync(path, 'utf8')).toBe('only\n')
    expect(log.truncated).toBeUndefined()
  })

  test('stops, naming the want of descriptors, when none came by the end', () => {
    const { log, path } = logAt('never', 'ENFILE')
    log.write(bytes('lost\n'))
    log.close()
    expect(existsSync(path)).toBe(false)
    expect(log.truncated).toContain('no file descriptor for the log (ENFILE)')
  })

  test(`stops once it would hold more than ${HELD_MAX} bytes`, () => {
    const { log, state, path } = logAt('too-much')
    expect(log.write(new Uint8Array(HELD_MAX))).toBe(HELD_MAX)
    expect(log.write(bytes('x'))).toBe(0)
    expect(log.truncated).toContain('(EMFILE)')
    state.failing = false
    expect(log.write(bytes('after\n'))).toBe(0)
    log.close()
    expect(existsSync(path)).toBe(false)
  })

  test('any other failure of the open stops the log at once, as before', () => {
    const { log, state } = logAt('other', 'ENOSPC')
    expect(log.write(bytes('x\n'))).toBe(0)
    expect(log.truncated).toContain('ENOSPC')
    state.failing = false
    expect(log.write(bytes('y\n'))).toBe(0)
  })

  test('keeps its own copy of a chunk it holds: the reader may reuse its buffer', () => {
    const { log, state, path } = logAt('copy')
    const chunk = bytes('abc\n')
    log.write(chunk)
    chunk.set(bytes('zzz\n'))
    state.failing = false
    log.close()
    expect(readFileSync(path, 'utf8')).toBe('abc\n')
  })
})
