import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExecdError } from '../../core/errors'
import { PathScope, expandHome, expandVariables } from './paths'

const base = realpathSync(mkdtempSync(join(tmpdir(), 'execd-paths-')))
afterAll(() => rmSync(base, { recursive: true, force: true }))

describe('expansion', () => {
  test('$NAME and ${NAME} expand from the environment', () => {
    expect(expandVariables('$HOMEDIR/x/${SUB}', { HOMEDIR: '/h', SUB: 's' })).toBe('/h/x/s')
  })
  test('an undefined variable is a 400 naming it', () => {
    const err = (() => {
      try {
        expandVariables('/a/$NOPE_X/b', {})
      } catch (e) {
        return e as ExecdError
      }
    })()
    expect(err?.status).toBe(400)
    expect(err?.message).toBe('path references undefined environment variables: NOPE_X')
  })
  test('shell specials expand to nothing and a lone $ stays', () => {
    expect(expandVariables('/a/$1/$$/b$', {})).toBe('/a///b$')
  })
  test('~ and ~/ expand to home; ~user does not', () => {
    expect(expandHome('~', '/home/u')).toBe('/home/u')
    expect(expandHome('~/x', '/home/u')).toBe('/home/u/x')
    expect(expandHome('~other/x', '/home/u')).toBe('~other/x')
  })
})

describe('PathScope without a root', () => {
  test('relative paths resolve against the working directory, .. is normalised', () => {
    const scope = new PathScope(undefined, '/srv')
    expect(scope.resolve('a/../b')).toEqual({ path: '/srv/b', target: '/srv/b' })
  })
  test('a NUL byte is refused', () => {
    expect(() => new PathScope().resolve('/a\0b')).toThrow('NUL')
  })
})

describe('PathScope with a root', () => {
  const root = join(base, 'root')
  const outside = join(base, 'outside')
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(outside, { recursive: true })
  writeFileSync(join(outside, 'secret'), 'x')
  symlinkSync(outside, join(root, 'escape'))
  symlinkSync(join(outside, 'secret'), join(root, 'secret-link'))
  symlinkSync(join(outside, 'not-yet'), join(root, 'dangling'))
  symlinkSync('sub', join(root, 'inner-link'))
  const scope = new PathScope(root)

  test('paths inside resolve; relative ones against the root', () => {
    expect(scope.resolve('sub/x').target).toBe(join(root, 'sub/x'))
    expect(scope.resolve(join(root, 'sub')).path).toBe(join(root, 'sub'))
  })
  test('.. out of the root is refused', () => {
    expect(() => scope.resolve('../outside/secret')).toThrow('outside the root')
    expect(() => scope.resolve(`${root}/sub/../../outside`)).toThrow('outside the root')
  })
  test('an absolute path elsewhere is refused', () => {
    expect(() => scope.resolve('/etc/passwd')).toThrow('outside the root')
  })
  test('a symlinked directory pointing out is refused', () => {
    expect(() => scope.resolve('escape/secret')).toThrow('outside the root')
    expect(() => scope.resolve('escape/new-file')).toThrow('outside the root')
  })
  test('a final symlink pointing out is refused when followed, allowed as the link itself', () => {
    expect(() => scope.resolve('secret-link', { follow: true })).toThrow('outside the root')
    expect(scope.resolve('secret-link').target).toBe(join(root, 'secret-link'))
  })
  test('a dangling symlink is followed to where the kernel would create its target', () => {
    expect(() => scope.resolve('dangling', { follow: true })).toThrow('outside the root')
    expect(() => scope.resolve('dangling/child')).toThrow('outside the root')
  })
  test('a symlink that stays inside resolves to its target', () => {
    expect(scope.resolve('inner-link/f').target).toBe(join(root, 'sub/f'))
  })
  test('refusals are 400 INVALID_REQUEST_BODY', () => {
    try {
      scope.resolve('/etc')
    } catch (e) {
      expect((e as ExecdError).code).toBe('INVALID_REQUEST_BODY')
    }
  })
  test('a root that does not exist fails at start', () => {
    expect(() => new PathScope(join(base, 'missing-root'))).toThrow('--root')
  })
})
