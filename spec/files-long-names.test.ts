/**
 * A file whose name is as long as the filesystem allows (255 bytes on Linux) can be uploaded,
 * replaced in and moved across filesystems: each stages the file beside its target under a
 * temp name, and that name is kept within 255 bytes however long the target's is.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, runCliSync, uploadOne } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { SHM, shmIsTmpfs } from './kit/shm'

let dir: string
let shmDir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'files-long-names-'))
  shmDir = mkdtempSync(join(SHM, 'files-long-names-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(shmDir, { recursive: true, force: true })
})

/** Names of `bytes` UTF-8 bytes: plain, of two-byte characters, of three-byte ones. */
const names = (bytes: number): [string, string][] => [
  ['ascii', 'a'.repeat(bytes)],
  ['two-byte characters', 'é'.repeat(Math.floor(bytes / 2))],
  ['three-byte characters', '語'.repeat(Math.floor(bytes / 3))],
]

/** What is in `d` apart from the target: no temp file may be left beside it. */
const strays = (d: string, name: string) => readdirSync(d).filter(n => n !== name)

describe('a name at the limit', () => {
  const fx = daemonAlone()

  for (const [kind, name] of names(255)) {
    test(`is uploaded (${kind})`, async () => {
      const d = mkdtempSync(join(dir, 'up-'))
      expect(await uploadOne(fx.d, join(d, name))).toMatchObject({ status: 200 })
      expect([readFileSync(join(d, name), 'utf8'), strays(d, name)]).toEqual(['x', []])
    })

    test(`is replaced in (${kind})`, async () => {
      const d = mkdtempSync(join(dir, 'replace-'))
      writeFileSync(join(d, name), 'old text')
      const res = await postJson(fx.d, '/files/replace', { [join(d, name)]: { old: 'old', new: 'new' } })
      expect([res.status, readFileSync(join(d, name), 'utf8'), strays(d, name)]).toEqual([200, 'new text', []])
    })

    test.skipIf(!shmIsTmpfs)(`is moved to another filesystem (${kind})`, async () => {
      const d = mkdtempSync(join(dir, 'move-'))
      const to = mkdtempSync(join(shmDir, 'to-'))
      writeFileSync(join(d, name), 'moved')
      const res = await postJson(fx.d, '/files/mv', [{ src: join(d, name), dest: join(to, name) }])
      expect([res.status, existsSync(join(d, name)), readFileSync(join(to, name), 'utf8'), strays(to, name)]).toEqual([
        200,
        false,
        'moved',
        [],
      ])
    })
  }

  test('a name of 256 bytes is refused as the filesystem refuses it, and nothing is left', async () => {
    const d = mkdtempSync(join(dir, 'long-'))
    const res = await uploadOne(fx.d, join(d, 'a'.repeat(256)))
    expect([res.status, res.message?.endsWith('file name too long'), readdirSync(d)]).toEqual([400, true, []])
  })
})

test('execd fs get writes a local file whose name is 255 bytes', () => {
  const d = mkdtempSync(join(dir, 'get-'))
  writeFileSync(join(d, 'src.txt'), 'got')
  for (const [kind, name] of names(255)) {
    const r = runCliSync(['fs', 'get', join(d, 'src.txt'), join(d, name)], { env: { EXECD_URL: '' } })
    const got = existsSync(join(d, name)) && readFileSync(join(d, name), 'utf8')
    expect([kind, r.code, r.stderr, got]).toEqual([kind, 0, '', 'got'])
  }
  expect(readdirSync(d).filter(n => n.includes('.execd-'))).toEqual([])
})
