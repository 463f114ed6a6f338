import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { confineCwd, resolveCwd } from './workdir'

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
