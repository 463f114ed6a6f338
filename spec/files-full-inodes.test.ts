/**
 * A disk out of inodes (a tmpfs with `nr_inodes`, root only: skipped visibly otherwise): a
 * write that must make directories on the way answers ENOSPC as a JSON 500 and leaves none of
 * them, so the inodes it took are free again; once space is freed the same request works.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, uploadOne } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { refused } from './kit/refused'
import { scratchWithDisks } from './kit/small-disk'

const scratch = scratchWithDisks('full-inodes')
const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn('skipped: the inode-exhaustion tests (mounting a tmpfs needs root)')

const fx = daemonAlone()

/** A disk of 8 inodes (its root takes one) with 5 files in it: two entries more fit. */
function nearlyFull(): string {
  const disk = scratch.smallDisk('1m', 8)
  for (let i = 0; i < 5; i++) writeFileSync(join(disk, `fill${i}`), '')
  return disk
}

/** Room for the four entries `a/b/c/d` takes. */
const freeTwo = (disk: string) => ['fill0', 'fill1'].forEach(n => rmSync(join(disk, n)))

const made = (disk: string) => readdirSync(disk).filter(n => !n.startsWith('fill'))

describe.skipIf(!isRoot)('a disk out of inodes', () => {
  // Fails on the build before: `a` and `a/b` stayed, holding the disk's last two inodes.
  test('mkdir -p of a/b/c/d that runs out at c is a 500 ENOSPC naming c, and leaves neither a nor a/b', async () => {
    const disk = nearlyFull()
    const deep = join(disk, 'a/b/c/d')
    const res = await refused(await postJson(fx.d, '/directories', { [deep]: { mode: 755 } }))
    expect(res).toMatchObject({ status: 500, code: 'RUNTIME_ERROR' })
    expect(res.message).toBe(`error accessing file: mkdir ${join(disk, 'a/b/c')}: no space left on device`)
    expect(made(disk)).toEqual([])
    freeTwo(disk)
    expect((await postJson(fx.d, '/directories', { [deep]: { mode: 755 } })).status).toBe(200)
    expect(existsSync(deep)).toBe(true)
  })

  test('an upload to a/b/c/f that runs out at c is a 500 ENOSPC, and leaves neither a nor a/b', async () => {
    const disk = nearlyFull()
    const file = join(disk, 'a/b/c/f')
    const res = await uploadOne(fx.d, file)
    expect(res).toMatchObject({ status: 500, code: 'RUNTIME_ERROR' })
    expect(res.message).toContain('no space left on device')
    expect(made(disk)).toEqual([])
    freeTwo(disk)
    expect((await uploadOne(fx.d, file)).status).toBe(200)
    expect(existsSync(file)).toBe(true)
  })
})
