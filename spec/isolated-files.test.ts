/**
 * The files sub-API of isolated sessions (`session/{id}/files/...`, `session/{id}/directories...`)
 * through the SDK's `session.files`: the files section's operations over the session's view.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SMALL, raceDownloads } from './kit/download-swap'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'
import { portOf, rawRequest } from './raw-http'

const fx = daemonWithDir('isolated-files')
const isolation = () => isolationOf(fx.d)
const stdout = stdoutOf
const workspace = () => {
  const ws = mkdtempSync(join(fx.tmp, 'ws-'))
  writeFileSync(join(ws, 'seed.txt'), 'seed\n')
  return ws
}

describe.skipIf(!Bun.which('bwrap'))('files inside an isolated session', () => {
  test('rw: write, read, info, list, search, move, replace, mkdir, delete through session.files', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = (name: string) => join(ws, name)
      await s.files.writeFiles([{ path: p('dir/a.txt'), data: 'hello a\n' }])
      expect(readFileSync(p('dir/a.txt'), 'utf8')).toBe('hello a\n')
      expect(stdout(await s.run('cat dir/a.txt'))).toEqual(['hello a'])
      expect(await s.files.readFile(p('seed.txt'))).toBe('seed\n')
      const info = await s.files.getFileInfo([p('dir/a.txt')])
      expect(info[p('dir/a.txt')]?.size).toBe(8)
      const listed = await s.files.listDirectory({ path: ws, depth: 2 })
      expect(listed.map(f => f.path).sort()).toEqual([p('dir'), p('dir/a.txt'), p('seed.txt')])
      expect((await s.files.search({ path: ws, pattern: '*.txt' })).map(f => f.path).sort()).toEqual([
        p('dir/a.txt'),
        p('seed.txt'),
      ])
      await s.files.moveFiles([{ src: p('dir/a.txt'), dest: p('b.txt') }])
      await s.files.replaceContents([{ path: p('b.txt'), oldContent: 'hello', newContent: 'bye' }])
      expect(readFileSync(p('b.txt'), 'utf8')).toBe('bye a\n')
      await s.files.createDirectories([{ path: p('made/deep'), mode: 755 }])
      expect(stdout(await s.run('test -d made/deep && echo made'))).toEqual(['made'])
      await s.files.deleteFiles([p('b.txt')])
      await s.files.deleteDirectories([p('made')])
      expect(existsSync(p('b.txt'))).toBe(false)
      expect(existsSync(p('made'))).toBe(false)
    })
  })

  test('a move whose missing parent cannot be made names the file in the way, as the session sees it', async () => {
    const ws = workspace()
    writeFileSync(join(ws, 'other.txt'), 'other\n')
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/files/mv`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ src: join(ws, 'other.txt'), dest: join(ws, 'seed.txt', 'sub', 'x.txt') }]),
      })
      expect(res.status).toBe(400)
      expect((await res.json()).message).toBe(`error accessing file: mkdir ${join(ws, 'seed.txt')}: not a directory`)
    })
  })

  test('paths outside the workspace, and links the session planted, are refused', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      await s.run('ln -s /etc/passwd pw; ln -s ../../../../etc up')
      for (const path of ['/etc/passwd', join(ws, '..', 'x'), join(ws, 'pw'), join(ws, 'up', 'passwd')]) {
        const res = await fx.d.fetch(
          `/v1/isolated/session/${s.sessionId}/files/download?path=${encodeURIComponent(path)}`,
        )
        expect({ path, status: res.status }).toEqual({ path, status: 400 })
        expect((await res.json()).message).toContain('outside')
      }
    })
  })

  test('overlay: an upload lands in the overlay, not in the real workspace', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws, mode: 'overlay' } }, async s => {
      await s.files.writeFiles([{ path: join(ws, 'up.txt'), data: 'uploaded\n' }])
      expect(existsSync(join(ws, 'up.txt'))).toBe(false)
      expect(stdout(await s.run('cat up.txt; echo inside > seed.txt'))).toEqual(['uploaded'])
      // The session's own writes are what the files view reads.
      expect(await s.files.readFile(join(ws, 'seed.txt'))).toBe('inside\n')
      expect(readFileSync(join(ws, 'seed.txt'), 'utf8')).toBe('seed\n')
      const diff = await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/diff`)).json()
      expect(diff.changes.map((c: { path: string; change: string }) => [c.path, c.change])).toEqual([
        [join(ws, 'seed.txt'), 'modified'],
        [join(ws, 'up.txt'), 'added'],
      ])
    })
  })

  test('ro: reads work, writes are refused with 403', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws, mode: 'ro' } }, async s => {
      expect(await s.files.readFile(join(ws, 'seed.txt'))).toBe('seed\n')
      await expect(s.files.writeFiles([{ path: join(ws, 'no.txt'), data: 'x' }])).rejects.toThrow(/403/)
      const res = await fx.d.fetch(
        `/v1/isolated/session/${s.sessionId}/files?path=${encodeURIComponent(join(ws, 'seed.txt'))}`,
        {
          method: 'DELETE',
        },
      )
      expect(res.status).toBe(403)
      expect((await res.json()).message).toContain('read-only')
      expect(existsSync(join(ws, 'seed.txt'))).toBe(true)
    })
  })

  test('a download whose name is swapped (another size, a link out, a directory, a FIFO): whole files or JSON errors', async () => {
    const ws = workspace()
    writeFileSync(join(fx.tmp, 'outside.txt'), 'OUTSIDE-SECRET')
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      for (const kinds of [
        ['A', 'B'],
        ['A', 'link'],
        ['A', 'dir'],
        ['A', 'fifo'],
      ]) {
        const { tally, swaps } = await raceDownloads({
          download: (path, init) =>
            fx.d.fetch(`/v1/isolated/session/${s.sessionId}/files/download?path=${encodeURIComponent(path)}`, init),
          dir: join(ws, kinds.join('-')),
          outside: join(fx.tmp, 'outside.txt'),
          files: SMALL,
          kinds,
          count: 150,
        })
        expect(tally.wrong).toEqual([])
        // Every download answered; with two files, whole ones (a FIFO or a directory in the name
        // half the time may leave few: on a loaded machine 5 of 300).
        expect(tally.whole + Object.values(tally.errors).reduce((a, b) => a + b, 0)).toBe(150)
        if (kinds.includes('B')) expect(tally.whole).toBe(150)
        expect(swaps).toBeGreaterThan(1)
      }
    })
  }, 120_000)

  test("a short Host without a port reaches the session's files (the path is not read from a fixed offset)", async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      for (const host of ['x', 'ab', 'abc']) {
        const reply = await rawRequest(
          portOf(fx.d.url),
          `GET /v1/isolated/session/${s.sessionId}/files/download?path=${encodeURIComponent(join(ws, 'seed.txt'))} HTTP/1.1\nHost: ${host}\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\nConnection: close`,
        )
        expect({ host, status: reply.status, body: reply.body }).toEqual({ host, status: 200, body: 'seed\n' })
      }
    })
  })

  test('an unknown session answers 404', async () => {
    const res = await fx.d.fetch(`/v1/isolated/session/nope/files/info?path=/x`)
    expect(res.status).toBe(404)
  })
})
