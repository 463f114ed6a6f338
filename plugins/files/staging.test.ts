import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StagedEntries, tempNameFor } from './staging'

const dir = mkdtempSync(join(tmpdir(), 'execd-staging-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const made = (path: string) => lstatSync(path, { bigint: true })

describe('staged entries', () => {
  test('closing removes what is still staged, a whole tree included, and forgets what was done', async () => {
    const staging = new StagedEntries()
    staging.open()
    const file = tempNameFor('f')
    writeFileSync(join(dir, file), 'partial')
    staging.track(dir, file, made(join(dir, file)))
    const tree = tempNameFor('t')
    mkdirSync(join(dir, tree, 'sub'), { recursive: true })
    writeFileSync(join(dir, tree, 'sub', 'x'), 'x')
    staging.track(dir, tree, made(join(dir, tree)))
    const placed = tempNameFor('p')
    writeFileSync(join(dir, placed), 'placed')
    staging.track(dir, placed, made(join(dir, placed))).done()
    await staging.close()
    expect([existsSync(join(dir, file)), existsSync(join(dir, tree)), existsSync(join(dir, placed))]).toEqual([
      false,
      false,
      true,
    ])
  })

  test('an entry that is no longer the one made, or not named as staged, is never removed', async () => {
    const staging = new StagedEntries()
    staging.open()
    const name = tempNameFor('g')
    writeFileSync(join(dir, name), 'staged')
    staging.track(dir, name, made(join(dir, name)))
    // Another file takes the name (another inode): it is not execd's.
    writeFileSync(join(dir, 'other'), 'a user file')
    renameSync(join(dir, 'other'), join(dir, name))
    writeFileSync(join(dir, 'plain'), 'a user file')
    staging.track(dir, 'plain', made(join(dir, 'plain')))
    await staging.close()
    expect(readFileSync(join(dir, name), 'utf8')).toBe('a user file')
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toBe('a user file')
  })

  test('once the last section has closed, staging is refused as execd shutting down', async () => {
    const staging = new StagedEntries()
    staging.open()
    staging.open()
    await staging.close()
    expect(() => staging.track(dir, tempNameFor('h'), { dev: 0n, ino: 0n, birthtimeNs: 0n })).not.toThrow()
    await staging.close()
    expect(() => staging.track(dir, tempNameFor('h'), { dev: 0n, ino: 0n, birthtimeNs: 0n })).toThrow('shutting down')
  })
})
