import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CREATES_MISSING_DIR,
  confineCwd,
  expandHome,
  expandPath,
  expandVariables,
  resolveCwd,
  workingDir,
} from './workdir'

let base = ''
let root = ''
beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'execd-workdir-')))
  root = join(base, 'root')
  mkdirSync(join(root, 'sub'), { recursive: true })
})
afterEach(() => rmSync(base, { recursive: true, force: true }))

describe('confineCwd', () => {
  test('without a root, a path resolves against the working directory', () => {
    expect(confineCwd('x', undefined)).toBe(join(process.cwd(), 'x'))
  })
  test('under a root, relative paths resolve from it, missing parts kept as named', () => {
    expect(confineCwd('sub', root)).toBe(join(root, 'sub'))
    expect(confineCwd('new/deeper', root)).toBe(join(root, 'new', 'deeper'))
    expect(confineCwd(root, root)).toBe(root)
    expect(confineCwd('sub/../sub', root)).toBe(join(root, 'sub'))
  })
  test('.., absolute paths and symlinks leading out are 400 "path is outside the root"', () => {
    symlinkSync(base, join(root, 'up'))
    for (const p of ['..', '../../x', '/etc', join(base, 'x'), 'up/x', 'up']) {
      expect(() => confineCwd(p, root), p).toThrow(`path is outside the root ${root}: ${p}`)
    }
  })
  test('a symlink inside the root to inside is resolved', () => {
    symlinkSync(join(root, 'sub'), join(root, 'alias'))
    expect(confineCwd('alias/new', root)).toBe(join(root, 'sub', 'new'))
  })
})

describe('resolveCwd', () => {
  test('checks existence after confinement', () => {
    expect(resolveCwd('sub', {}, root)).toBe(join(root, 'sub'))
    expect(() => resolveCwd('nope', {}, root)).toThrow('working directory does not exist')
    expect(() => resolveCwd('$UP/x', { UP: '..' }, root)).toThrow('outside the root')
    expect(resolveCwd(undefined, {}, root)).toBeUndefined()
  })
})

describe('expansion (every working directory and files path)', () => {
  test('~, $VAR and ${VAR} expand the same way', () => {
    const env = { HOME: '/home/u', A: 'a', B: 'b' }
    expect(expandPath('~', env)).toBe('/home/u')
    expect(expandPath('~/x', env)).toBe('/home/u/x')
    expect(expandPath('/t/$A/${B}/~', env)).toBe('/t/a/b/~')
    expect(expandVariables('$1$$x', env)).toBe('x')
  })
  test('~ is the home directory, ~/x under it, ~user and a later ~ stay as written', () => {
    for (const HOME of ['/home/u', '/home/u/']) {
      const env = { HOME }
      expect(expandHome('~', env)).toBe(HOME)
      expect(expandHome('~/x', env)).toBe('/home/u/x')
      expect(expandHome('~/x/', env)).toBe('/home/u/x/')
      expect(expandHome('~root', env)).toBe('~root')
      expect(expandHome('~root/x', env)).toBe('~root/x')
      expect(expandHome('x/~', env)).toBe('x/~')
    }
    expect(expandHome('~/x', { HOME: '/' })).toBe('/x')
  })
  test('a working directory under ~ is the same whether HOME ends in a slash or not', () => {
    const root = mkdtempSync(join(tmpdir(), 'wd-home-'))
    try {
      mkdirSync(join(root, 'h', 'x'), { recursive: true })
      for (const HOME of [join(root, 'h'), join(root, 'h') + '/']) {
        expect(workingDir('command', '~', { HOME }, undefined)).toBe(join(root, 'h'))
        expect(workingDir('command', '~/x', { HOME }, undefined)).toBe(join(root, 'h', 'x'))
      }
      // ~user is a relative directory named so, as the reference leaves it
      expect(() => workingDir('command', '~nobody-here', { HOME: root }, undefined)).toThrow('does not exist')
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
  test('an undefined variable is a 400 naming it, never a value', () => {
    const env = { SECRETISH: 'hunter2' }
    expect(() => expandPath('/t/$NOPE/${ALSO}/$SECRETISH', env)).toThrow(
      'working directory references undefined environment variables: NOPE, ALSO',
    )
    expect(() => expandVariables('$NOPE', {})).toThrow('path references undefined environment variables: NOPE')
    try {
      expandPath('$SECRETISH/$NOPE', env)
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2')
      expect((err as { status: number }).status).toBe(400)
    }
  })
})

describe('workingDir', () => {
  test('a working directory deeper than 256 levels is a 400 before anything is made', () => {
    const deep = Array.from({ length: 1500 }, () => 'd').join('/')
    for (const r of [root, undefined]) {
      const at = r ? deep : join(base, deep)
      expect(() => workingDir('session', at, {}, r)).toThrow('levels deep, more than 256')
    }
    expect(existsSync(join(root, 'd'))).toBe(false)
    expect(existsSync(join(base, 'd'))).toBe(false)
    // 200 levels are made as before.
    const ok = Array.from({ length: 200 }, () => 'd').join('/')
    expect(workingDir('session', ok, {}, root)).toBe(join(root, ok))
  })

  test('sessions and code contexts create a missing directory; commands, runs and terminals require it', () => {
    expect(CREATES_MISSING_DIR).toEqual({
      command: false,
      'session run': false,
      terminal: false,
      session: true,
      'code context': true,
    })
    for (const kind of ['command', 'session run', 'terminal'] as const) {
      expect(() => workingDir(kind, 'missing', {}, root), kind).toThrow('working directory does not exist: missing')
    }
    expect(existsSync(join(root, 'missing'))).toBe(false)
    for (const kind of ['session', 'code context'] as const) {
      expect(workingDir(kind, `made-$K/x`, { K: kind }, root)).toBe(join(root, `made-${kind}`, 'x'))
    }
  })
  test('a file is not a directory, for every kind', () => {
    writeFileSync(join(root, 'f'), '')
    for (const kind of Object.keys(CREATES_MISSING_DIR) as (keyof typeof CREATES_MISSING_DIR)[]) {
      expect(() => workingDir(kind, 'f', {}, root), kind).toThrow()
    }
  })
  test('no cwd: undefined; ~ and confinement apply to every kind', () => {
    expect(workingDir('terminal', undefined, {}, root)).toBeUndefined()
    expect(workingDir('terminal', '~/sub', { HOME: root }, root)).toBe(join(root, 'sub'))
    expect(() => workingDir('session', '../$X', { X: 'y' }, root)).toThrow(`path is outside the root ${root}: ../$X`)
    expect(() => workingDir('code context', '$UNSET_VAR', {}, root)).toThrow('UNSET_VAR')
  })
})
