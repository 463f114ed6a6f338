import { describe, expect, test } from 'bun:test'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import type { ExecdError } from '../errors'
import { type Anchor } from './walk'
import { tempDirPerTest } from '../../spec/kit/test-roots'
import { PathScope } from './path-scope'

let base = ''
let root = ''
let outside = ''
tempDirPerTest('execd-beneath-', d => {
  base = d
  root = join(d, 'root')
  outside = join(d, 'outside')
  mkdirSync(join(root, 'a/b'), { recursive: true })
  mkdirSync(outside)
  writeFileSync(join(root, 'a/b/f'), 'inside')
  writeFileSync(join(outside, 'f'), 'outside')
})

/** What the anchor names: the real path of its directory and the entry's name. */
function where(a: Anchor): string {
  const dir = readlinkSync(`/proc/self/fd/${a.dir}`)
  a.close()
  return a.name === '.' ? dir : `${dir}/${a.name}`
}
const refusal = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return [(e as ExecdError).status, (e as Error).message]
  }
  return undefined
}

describe('anchor under a root', () => {
  test('a plain path resolves to its directory and name; the root itself to "."', () => {
    const scope = new PathScope(root)
    expect(where(scope.anchor('a/b/f'))).toBe(join(root, 'a/b/f'))
    const self = scope.anchor(root)
    expect(self.name).toBe('.')
    expect(where(self)).toBe(root)
  })
  test('symlinks inside the root are followed, relative, absolute and with ..', () => {
    symlinkSync('b', join(root, 'a/rel'))
    symlinkSync(join(root, 'a/b'), join(root, 'abs'))
    symlinkSync('../a/b', join(root, 'a/up'))
    symlinkSync('a/b/f', join(root, 'file-link'))
    const scope = new PathScope(root)
    expect(where(scope.anchor('a/rel/f'))).toBe(join(root, 'a/b/f'))
    expect(where(scope.anchor('abs/f'))).toBe(join(root, 'a/b/f'))
    expect(where(scope.anchor('a/up/f'))).toBe(join(root, 'a/b/f'))
    // The final link stays itself unless followed.
    expect(where(scope.anchor('file-link'))).toBe(join(root, 'file-link'))
    expect(where(scope.anchor('file-link', { follow: true }))).toBe(join(root, 'a/b/f'))
  })
  test('links leading out are refused: relative, absolute, via .., chained, and a final one when followed', () => {
    symlinkSync('../../outside', join(root, 'a/out-rel'))
    symlinkSync(outside, join(root, 'out-abs'))
    symlinkSync('a/out-rel', join(root, 'chain'))
    symlinkSync(join(outside, 'f'), join(root, 'out-file'))
    symlinkSync('..', join(root, 'dotdot'))
    const scope = new PathScope(root)
    for (const p of ['a/out-rel/f', 'out-abs/f', 'chain/f', 'dotdot/outside/f', 'dotdot/x']) {
      expect(refusal(() => scope.anchor(p))).toEqual([400, `path is outside the root ${root}: ${p}`])
    }
    expect(refusal(() => scope.anchor('out-file', { follow: true }))?.[0]).toBe(400)
    expect(where(scope.anchor('out-file'))).toBe(join(root, 'out-file'))
  })
  test('a symlink loop is ELOOP, not a hang', () => {
    symlinkSync('loop2', join(root, 'loop1'))
    symlinkSync('loop1', join(root, 'loop2'))
    expect(() => new PathScope(root).anchor('loop1/x')).toThrow(expect.objectContaining({ code: 'ELOOP' }))
  })
  test('mkdirs creates missing parents inside, also through a dangling link; undoCreated removes only those', () => {
    symlinkSync('a/later', join(root, 'dangling'))
    const scope = new PathScope(root)
    const a = scope.anchor('dangling/x/y/file', { mkdirs: true, track: true })
    expect(where(scope.anchor('a/later/x/y'))).toBe(join(root, 'a/later/x/y'))
    writeFileSync(join(root, 'a/later/x/keep'), '')
    a.undoCreated()
    a.close()
    expect(existsSync(join(root, 'a/later/x/y'))).toBe(false)
    expect(readdirSync(join(root, 'a/later/x'))).toEqual(['keep'])
  })
  test('a dangling link out of the root is refused before anything is created', () => {
    symlinkSync(join(outside, 'new'), join(root, 'dangling-out'))
    expect(refusal(() => new PathScope(root).anchor('dangling-out/x', { mkdirs: true }))?.[0]).toBe(400)
    expect(readdirSync(outside)).toEqual(['f'])
  })
  test('a file in the middle of a path is ENOTDIR; a missing one ENOENT', () => {
    const scope = new PathScope(root)
    expect(() => scope.anchor('a/b/f/x')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }))
    expect(() => scope.anchor('nope/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }))
  })
})

describe('anchor without a root', () => {
  test('paths resolve as the kernel would, symlinks anywhere included', () => {
    symlinkSync(outside, join(base, 'to-out'))
    const scope = new PathScope(undefined, base)
    expect(where(scope.anchor('to-out/f', { follow: true }))).toBe(join(outside, 'f'))
    expect(where(scope.anchor('root/a/../a/b/f'))).toBe(join(root, 'a/b/f'))
    expect(where(scope.anchor('/'))).toBe('/')
  })
  test('mkdirs below a missing parent creates the chain', () => {
    const a = new PathScope(undefined, base).anchor('new/deep/f', { mkdirs: true, track: true })
    expect(lstatSync(join(base, 'new/deep')).isDirectory()).toBe(true)
    a.undoCreated()
    a.close()
    expect(existsSync(join(base, 'new'))).toBe(false)
  })
  test('an empty path is a 400, not the working directory', () => {
    expect(refusal(() => new PathScope(undefined, base).anchor(''))?.[0]).toBe(400)
    expect(readFileSync(join(root, 'a/b/f'), 'utf8')).toBe('inside')
  })
})
