/**
 * What one `POST /files/replace` may write: its replacements may add at most
 * --max-replace-growth bytes (256 MiB by default) to its files together, refused with a 413
 * before anything is written; and a disk that fills midway answers as an upload onto it does.
 * Full disks are small tmpfs mounts (root only: skipped visibly otherwise).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, startDaemon, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { refused } from './kit/refused'
import { scratchWithDisks } from './kit/small-disk'

const scratch = scratchWithDisks('replace-bounds')
const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn('skipped: the full-disk replace tests (mounting a tmpfs needs root)')

const fx = daemonAlone()

const leftovers = (dir: string) => readdirSync(dir).filter(n => n.includes('.execd-tmp-'))

describe.skipIf(!isRoot)('the default bound', () => {
  // On a 64 MiB disk: a build without a bound wrote until the disk was full (10 GB asked for).
  test('a request of 100 bytes that would grow a file 10,000 times is a 413, the file untouched', async () => {
    const disk = scratch.smallDisk('64m')
    const f = join(disk, 'many-a')
    writeFileSync(f, 'a'.repeat(1_000_000))
    const before = statSync(f)
    const res = await refused(await postJson(fx.d, '/files/replace', { [f]: { old: 'a', new: 'b'.repeat(10_240) } }))
    expect(res).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    expect(res.message).toContain('--max-replace-growth')
    expect(res.message).toContain('nothing was written')
    const after = statSync(f)
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs])
    expect(leftovers(disk)).toEqual([])
  })
})

describe('--max-replace-growth', () => {
  let small: Daemon
  beforeAll(async () => {
    small = await startDaemon({ args: ['--max-replace-growth', '1000'] })
  })
  afterAll(async () => {
    await small?.stop()
  })

  test('a replace adding exactly the bound is done; one byte more is a 413 with the file as it was', async () => {
    const dir = scratch.dir
    const f = join(dir, 'ten')
    writeFileSync(f, 'x'.repeat(10))
    // 10 matches × 100 bytes more = 1000: the bound itself.
    const ok = await postJson(small, '/files/replace?verbose=true', { [f]: { old: 'x', new: 'y'.repeat(101) } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ [f]: { replacedCount: 10 } })
    writeFileSync(f, 'x'.repeat(10))
    const res = await refused(await postJson(small, '/files/replace', { [f]: { old: 'x', new: 'y'.repeat(102) } }))
    expect(res).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    expect(readFileSync(f, 'utf8')).toBe('x'.repeat(10))
    expect(leftovers(dir)).toEqual([])
  })

  test('the matches are counted, not guessed: a large file with few of them is done', async () => {
    const f = join(scratch.dir, 'few')
    // Were every byte a match it could grow by 1,000,000 bytes; its 5 matches add 500.
    writeFileSync(f, `${'-'.repeat(9_995)}xxxxx`)
    const res = await postJson(small, '/files/replace?verbose=true', { [f]: { old: 'x', new: 'y'.repeat(101) } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ [f]: { replacedCount: 5 } })
    expect(statSync(f).size).toBe(10_000 + 500)
  })

  test('the bound is for the request: past it on the second file, the first is not written either', async () => {
    const first = join(scratch.dir, 'first')
    const second = join(scratch.dir, 'second')
    writeFileSync(first, 'x'.repeat(5))
    writeFileSync(second, 'x'.repeat(5))
    const res = await refused(
      await postJson(small, '/files/replace', {
        [first]: { old: 'x', new: 'y'.repeat(150) },
        [second]: { old: 'x', new: 'y'.repeat(150) },
      }),
    )
    expect(res).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    expect(res.message).toContain(second)
    expect([readFileSync(first, 'utf8'), readFileSync(second, 'utf8')]).toEqual(['xxxxx', 'xxxxx'])
  })

  test('a replacement no longer than what it replaces is never refused, whatever it changes', async () => {
    const f = join(scratch.dir, 'same')
    writeFileSync(f, 'a'.repeat(100_000))
    const res = await postJson(small, '/files/replace?verbose=true', {
      [f]: { old: 'a', new: 'b' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ [f]: { replacedCount: 100_000 } })
    expect(readFileSync(f, 'utf8')).toBe('b'.repeat(100_000))
  })
})

describe.skipIf(!isRoot)('a disk that fills during a replace', () => {
  test('is the 500 RUNTIME_ERROR an upload onto it gets, naming ENOSPC; the file intact, no temp left', async () => {
    const disk = scratch.smallDisk('1m')
    const f = join(disk, 'f')
    writeFileSync(f, 'a'.repeat(600_000))
    const replace = await refused(await postJson(fx.d, '/files/replace', { [f]: { old: 'a', new: 'bb' } }))
    const form = new FormData()
    form.append('metadata', new Blob([JSON.stringify({ path: join(disk, 'u') })]), 'metadata')
    form.append('file', new Blob([new Uint8Array(2_000_000)]), 'u')
    const upload = await refused(await fx.d.fetch('/files/upload', { method: 'POST', body: form }))
    for (const answer of [replace, upload]) {
      expect(answer).toMatchObject({ status: 500, code: 'RUNTIME_ERROR' })
      expect(answer.message).toContain('no space left on device')
    }
    expect(readFileSync(f, 'utf8')).toBe('a'.repeat(600_000))
    expect(readdirSync(disk)).toEqual(['f'])
  })
})
