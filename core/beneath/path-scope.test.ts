import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExecdError } from '../errors'
import { procPath, type WalkOptions } from './walk'
import { BytePath, PathScope, expandHome, expandVariables, type RawPath } from './path-scope'

const base = realpathSync(mkdtempSync(join(tmpdir(), 'execd-paths-')))
afterAll(() => rmSync(base, { recursive: true, force: true }))

/** Where an anchor lands: the reported path, and the real place of its entry. */
function landing(scope: PathScope, raw: RawPath, opts: WalkOptions = {}) {
  const a = scope.anchor(raw, opts)
  try {
    const dir = realpathSync(procPath(a.dir))
    return { path: a.path, target: a.name === '.' ? dir : join(dir, String(a.name)) }
  } finally {
    a.close()
  }
}

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
    expect(expandHome('~', { HOME: '/home/u' })).toBe('/home/u')
    expect(expandHome('~/x', { HOME: '/home/u' })).toBe('/home/u/x')
    expect(expandHome('~other/x', { HOME: '/home/u' })).toBe('~other/x')
  })
  test('a path under ~ names the same file whether HOME ends in a slash or not', () => {
    const scope = new PathScope(undefined, '/srv')
    const home = process.env.HOME
    try {
      for (const HOME of ['/home/u', '/home/u/', '/home/u//']) {
        process.env.HOME = HOME
        expect([scope.normalise('~'), scope.normalise('~/x'), scope.normalise('~/')]).toEqual([
          '/home/u',
          '/home/u/x',
          '/home/u',
        ])
        expect(scope.normalise('~u/x')).toBe('/srv/~u/x')
      }
    } finally {
      process.env.HOME = home
    }
  })
})

describe('PathScope without a root', () => {
  test('relative paths resolve against the working directory, .. is normalised', () => {
    const scope = new PathScope(undefined, '/srv')
    expect(scope.normalise('a/../b')).toBe('/srv/b')
  })
  test('a NUL byte is refused', () => {
    expect(() => new PathScope().normalise('/a\0b')).toThrow('NUL')
    expect(() => new PathScope().normalise(new BytePath(Buffer.from('/a\0b')))).toThrow('NUL')
  })
  test('exact bytes are taken literally: no expansion, `..` normalised, shown as \\xHH', () => {
    const scope = new PathScope(undefined, '/srv')
    expect(scope.normalise(new BytePath(Buffer.from('$HOME/~')))).toBe('/srv/$HOME/~')
    expect(scope.normalise(new BytePath(Buffer.from([0x61, 0xff, 0x2f, 0x2e, 0x2e, 0x2f, 0x62])))).toBe('/srv/b')
    expect(scope.normalise(new BytePath(Buffer.from([0x2f, 0x61, 0xff])))).toBe('/a\\xff')
    expect(String(new BytePath(Buffer.from([0xc3, 0xa9, 0xfe])))).toBe('é\\xfe')
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
    expect(landing(scope, 'sub/x').target).toBe(join(root, 'sub/x'))
    expect(landing(scope, join(root, 'sub')).path).toBe(join(root, 'sub'))
  })
  test('.. out of the root is refused', () => {
    expect(() => landing(scope, '../outside/secret')).toThrow('outside the root')
    expect(() => landing(scope, `${root}/sub/../../outside`)).toThrow('outside the root')
  })
  test('an absolute path elsewhere is refused', () => {
    expect(() => landing(scope, '/etc/passwd')).toThrow('outside the root')
  })
  test('a symlinked directory pointing out is refused', () => {
    expect(() => landing(scope, 'escape/secret')).toThrow('outside the root')
    expect(() => landing(scope, 'escape/new-file')).toThrow('outside the root')
  })
  test('a final symlink pointing out is refused when followed, allowed as the link itself', () => {
    expect(() => landing(scope, 'secret-link', { follow: true })).toThrow('outside the root')
    expect(landing(scope, 'secret-link').target).toBe(join(root, 'secret-link'))
  })
  test('a dangling symlink is followed to where the kernel would create its target', () => {
    expect(() => landing(scope, 'dangling', { follow: true })).toThrow('outside the root')
    expect(() => landing(scope, 'dangling/child')).toThrow('outside the root')
  })
  test('exact bytes are confined the same way', () => {
    const bytes = (...parts: (string | number[])[]) => new BytePath(Buffer.concat(parts.map(p => Buffer.from(p))))
    expect(() => landing(scope, bytes('../outside/secret'))).toThrow('outside the root')
    expect(() => landing(scope, bytes('escape/', [0xff]))).toThrow('outside the root')
    expect(() => landing(scope, bytes('/etc/', [0xff]))).toThrow('outside the root')
    expect(landing(scope, bytes('inner-link/x', [0xff]))).toEqual({
      path: join(root, 'inner-link/x\\xff'),
      target: join(root, 'sub/x\ufffd'),
    })
  })
  test('a symlink that stays inside resolves to its target', () => {
    expect(landing(scope, 'inner-link/f').target).toBe(join(root, 'sub/f'))
  })
  test('refusals are 400 INVALID_REQUEST_BODY', () => {
    try {
      scope.normalise('/etc')
    } catch (e) {
      expect((e as ExecdError).code).toBe('INVALID_REQUEST_BODY')
    }
  })
  test('a root that does not exist fails at start', () => {
    expect(() => new PathScope(join(base, 'missing-root'))).toThrow('--root')
  })
})
