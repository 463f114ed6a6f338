/**
 * Every public method of the SDK's IsolatedFilesystemAdapter (`session.files`) against the
 * executable, as an SDK user sees it: values, and the exception and fields a failure gives.
 * isolated-files.test.ts holds the files view's walls (paths outside, ro, swaps).
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf } from './kit/isolated'
import { sdkFailure } from './sdk'

const fx = daemonWithDir('isolated-files-sdk')
const isolation = () => isolationOf(fx.d)
const workspace = () => {
  const ws = mkdtempSync(join(fx.tmp, 'ws-'))
  writeFileSync(join(ws, 'lines.txt'), 'one\ntwo\nthree\n')
  return ws
}

describe.skipIf(!Bun.which('bwrap'))('session.files, method by method', () => {
  test('replaceContentsDetailed gives the count per file (the SDK asks for no verbose here)', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = join(ws, 'lines.txt')
      writeFileSync(join(ws, 'other.txt'), 'nothing to see')
      const counts = await s.files.replaceContentsDetailed([
        { path: p, oldContent: 'o', newContent: '0' },
        { path: join(ws, 'other.txt'), oldContent: 'zzz', newContent: 'y' },
      ])
      expect(counts.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: p, replacedCount: 2 },
        { path: join(ws, 'other.txt'), replacedCount: 0 },
      ])
      expect(readFileSync(p, 'utf8')).toBe('0ne\ntw0\nthree\n')
      // replaceContents reads no body: the counts it now gets change nothing for it.
      await s.files.replaceContents([{ path: p, oldContent: 'three', newContent: '3' }])
      expect(readFileSync(p, 'utf8')).toBe('0ne\ntw0\n3\n')
      // An explicit verbose=false still gets the empty answer.
      const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/files/replace?verbose=false`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ [p]: { old: '3', new: 'three' } }),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-length')).toBe('0')
    })
  })

  // Before: the session's route refused verbose=1 with a 400 (a TypeBox boolean) where
  // /files/replace took it as "not true" and answered nothing.
  test("verbose reads alike on a session's replace and on /files/replace: 1 is true, a typo a 400", async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = join(ws, 'lines.txt')
      const replace = (prefix: string, verbose: string, old: string, next: string) =>
        fx.d.fetch(`${prefix}/files/replace?verbose=${verbose}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ [p]: { old, new: next } }),
        })
      const session = `/v1/isolated/session/${s.sessionId}`
      const answers = []
      for (const prefix of [session, '']) {
        const one = await replace(prefix, '1', 'one', 'ONE')
        const zero = await replace(prefix, '0', 'ONE', 'one')
        const typo = await replace(prefix, 'yes', 'one', 'ONE')
        answers.push([
          one.status,
          await one.json(),
          zero.status,
          zero.headers.get('content-length'),
          typo.status,
          await typo.json(),
        ])
      }
      const expected = [
        200,
        { [p]: { replacedCount: 1 } },
        200,
        '0',
        400,
        { code: 'INVALID_REQUEST_BODY', message: expect.stringMatching(/^invalid query parameter 'verbose'/) },
      ]
      expect(answers).toEqual([expected, expected])
      // The refused ones wrote nothing.
      expect(readFileSync(p, 'utf8')).toBe('one\ntwo\nthree\n')
    })
  })

  test('reads: whole, a byte range, lines by offset/limit, as bytes and as a stream', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = join(ws, 'lines.txt')
      expect(await s.files.readFile(p)).toBe('one\ntwo\nthree\n')
      expect(await s.files.readFile(p, { range: 'bytes=4-6' })).toBe('two')
      expect(await s.files.readFile(p, { offset: 2, limit: 1 })).toBe('two\n')
      expect(await s.files.readFile(p, { offset: 3 })).toBe('three\n')
      expect(new TextDecoder().decode(await s.files.readBytes(p, { limit: 1 }))).toBe('one\n')
      let streamed = ''
      for await (const chunk of s.files.readBytesStream(p)) streamed += new TextDecoder().decode(chunk)
      expect(streamed).toBe('one\ntwo\nthree\n')
    })
  })

  test('writes: a string with mode, bytes, a stream (the adapter gathers it), then info, list, search', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = (n: string) => join(ws, n)
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(1000).fill(i))
          c.close()
        },
      })
      await s.files.writeFiles([
        { path: p('d/script.sh'), data: '#!/bin/sh\necho ran\n', mode: 750 },
        { path: p('d/bytes.bin'), data: new Uint8Array([0, 255, 7]) },
        { path: p('d/stream.bin'), data: stream },
      ])
      expect(statSync(p('d/script.sh')).mode & 0o777).toBe(0o750)
      expect([...readFileSync(p('d/bytes.bin'))]).toEqual([0, 255, 7])
      expect(statSync(p('d/stream.bin')).size).toBe(4000)

      const info = (await s.files.getFileInfo([p('d/script.sh')]))[p('d/script.sh')]
      expect(info).toMatchObject({ path: p('d/script.sh'), type: 'file', size: 19, mode: 750, owner: 'root' })
      expect(info?.modifiedAt).toBeInstanceOf(Date)
      expect(info?.createdAt).toBeInstanceOf(Date)

      const listed = await s.files.listDirectory({ path: p('d') })
      expect(listed.map(f => [f.path, f.type])).toEqual([
        [p('d/bytes.bin'), 'file'],
        [p('d/script.sh'), 'file'],
        [p('d/stream.bin'), 'file'],
      ])
      expect((await s.files.search({ path: ws, pattern: '*.bin' })).map(f => f.path)).toEqual([
        p('d/bytes.bin'),
        p('d/stream.bin'),
      ])
    })
  })

  test('setPermissions and createDirectories: mode as octal digits, 755 when the entry gives none', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const p = join(ws, 'lines.txt')
      await s.files.setPermissions([{ path: p, mode: 600 }])
      expect(statSync(p).mode & 0o777).toBe(0o600)
      expect((await s.files.getFileInfo([p]))[p]?.mode).toBe(600)
      await s.files.createDirectories([{ path: join(ws, 'a/b'), mode: 700 }, { path: join(ws, 'c') }])
      expect(statSync(join(ws, 'a/b')).mode & 0o777).toBe(0o700)
      expect(statSync(join(ws, 'c')).mode & 0o777).toBe(0o755)
    })
  })

  test('failures: JSON routes give the status and the error body; download and upload give the status and the body as text', async () => {
    const ws = workspace()
    await isolation().withSession({ workspace: { path: ws } }, async s => {
      const missing = join(ws, 'missing')
      for (const call of [
        () => s.files.getFileInfo([missing]),
        () => s.files.setPermissions([{ path: missing, mode: 644 }]),
        () => s.files.replaceContents([{ path: missing, oldContent: 'a', newContent: 'b' }]),
        () => s.files.moveFiles([{ src: missing, dest: join(ws, 'x') }]),
        () => s.files.listDirectory({ path: missing }),
        () => s.files.search({ path: missing, pattern: '*' }),
      ]) {
        const f = await sdkFailure(call)
        expect(f).toMatchObject({ status: 404, code: 'FILE_NOT_FOUND' })
        expect(f.message).toStartWith('file not found. ')
        expect(f.message).toContain(missing)
      }
      const replaceEmpty = await sdkFailure(() =>
        s.files.replaceContents([{ path: join(ws, 'lines.txt'), oldContent: '', newContent: 'b' }]),
      )
      expect(replaceEmpty).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })

      // The adapter wraps these with its own words; what the server said is in rawBody.
      const read = await sdkFailure(() => s.files.readFile(missing))
      expect(read).toMatchObject({ status: 404, code: 'UNEXPECTED_RESPONSE', message: 'Download failed' })
      expect(JSON.parse(read.raw as string)).toMatchObject({ code: 'FILE_NOT_FOUND' })
      const stream = s.files.readBytesStream(missing)[Symbol.asyncIterator]()
      const streamed = await sdkFailure(() => stream.next())
      expect(streamed).toMatchObject({ status: 404, message: 'Download stream failed' })
      const range = await sdkFailure(() => s.files.readFile(join(ws, 'lines.txt'), { range: 'bytes=100-200' }))
      expect(range.status).toBe(416)
      expect(JSON.parse(range.raw as string)).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE' })
      const upload = await sdkFailure(() =>
        s.files.writeFiles([{ path: join(ws, 'u.txt'), data: 'x', owner: 'no-such-user' }]),
      )
      expect(upload).toMatchObject({ status: 400, message: 'Upload failed (status=400)' })
      expect(JSON.parse(upload.raw as string)).toMatchObject({ code: 'INVALID_REQUEST_BODY' })

      // Deleting what is not there is no error (as the files section).
      await s.files.deleteFiles([missing])
      await s.files.deleteDirectories([missing])
    })
  })

  test('a deleted session: every files call is a 404 CONTEXT_NOT_FOUND', async () => {
    const ws = workspace()
    const s = await isolation().create({ workspace: { path: ws } })
    await s.delete()
    const p = join(ws, 'lines.txt')
    for (const call of [
      () => s.files.getFileInfo([p]),
      () => s.files.listDirectory({ path: ws }),
      () => s.files.createDirectories([{ path: join(ws, 'n') }]),
      () => s.files.deleteFiles([p]),
    ]) {
      const f = await sdkFailure(call)
      expect(f).toMatchObject({ status: 404, code: 'CONTEXT_NOT_FOUND' })
      expect(f.message).toContain(s.sessionId)
    }
    const read = await sdkFailure(() => s.files.readFile(p))
    expect(read.status).toBe(404)
    expect(JSON.parse(read.raw as string)).toMatchObject({ code: 'CONTEXT_NOT_FOUND' })
  })
})
