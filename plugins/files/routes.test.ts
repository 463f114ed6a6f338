/** The files routes in process (app.handle): statuses, headers and bodies on the wire. */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../core/app'
import { resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import { files } from '.'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-routes-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const { app } = await createApp({
  plugins: [files],
  runtimes: [],
  config: resolveConfig(files.options ?? [], {}, {}),
  log: createLogger('silent'),
})
const call = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init))
const post = (path: string, body: unknown) =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
const q = encodeURIComponent

describe('files routes', () => {
  test('upload (FormData as the SDK builds it), info, download, replace, mv, permissions, delete', async () => {
    const form = new FormData()
    form.append(
      'metadata',
      new Blob([JSON.stringify({ path: join(dir, 'w/a,b.txt'), mode: 644 })], { type: 'application/json' }),
      'metadata',
    )
    form.append('file', new Blob(['hello world']), 'a,b.txt')
    const up = await call('/files/upload', { method: 'POST', body: form })
    // Content-Length: 0 is added by Bun.serve on the wire (checked in spec/); here: no body.
    expect([up.status, await up.text()]).toEqual([200, ''])

    const file = join(dir, 'w/a,b.txt')
    const info = await call(`/files/info?path=${q(file)}`)
    expect(info.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(Object.keys(await info.json())).toEqual([file])

    const dl = await call(`/files/download?path=${q(file)}`)
    expect(await dl.text()).toBe('hello world')

    const rep = await post('/files/replace?verbose=true', { [file]: { old: 'o', new: '0' } })
    expect(await rep.json()).toEqual({ [file]: { replacedCount: 2 } })
    const quiet = await post('/files/replace', { [file]: { old: '0', new: 'o' } })
    expect([quiet.status, await quiet.text()]).toEqual([200, ''])

    expect((await post('/files/mv', [{ src: file, dest: join(dir, 'moved/x.txt') }])).status).toBe(200)
    expect((await post('/files/permissions', { [join(dir, 'moved/x.txt')]: { mode: 600 } })).status).toBe(200)
    const moved = await (await call(`/files/info?path=${q(join(dir, 'moved/x.txt'))}`)).json()
    expect(moved[join(dir, 'moved/x.txt')].mode).toBe(600)

    const del = await call(`/files?path=${q(join(dir, 'moved/x.txt'))}`, { method: 'DELETE' })
    expect([del.status, await del.text()]).toEqual([200, ''])
  })

  test('directories: create, list with depth, delete', async () => {
    expect((await post('/directories', { [join(dir, 'd/e')]: { mode: 750 }, [join(dir, 'd/f')]: {} })).status).toBe(200)
    writeFileSync(join(dir, 'd/e/x'), '')
    const list = await (await call(`/directories/list?path=${q(join(dir, 'd'))}&depth=2`)).json()
    expect(list.map((e: { path: string }) => e.path)).toEqual([join(dir, 'd/e'), join(dir, 'd/e/x'), join(dir, 'd/f')])
    expect(list[0].mode).toBe(750)
    expect((await call(`/directories?path=${q(join(dir, 'd'))}`, { method: 'DELETE' })).status).toBe(200)
    expect((await call(`/directories/list?path=${q(join(dir, 'd'))}`)).status).toBe(404)
  })

  test('search answers a JSON array', async () => {
    writeFileSync(join(dir, 's1.py'), '')
    const res = await call(`/files/search?path=${q(dir)}&pattern=${q('*.py')}`)
    expect((await res.json()).map((e: { path: string }) => e.path)).toEqual([join(dir, 's1.py')])
  })

  test('repeated ?path= keeps commas inside values', async () => {
    writeFileSync(join(dir, 'x,y'), '')
    writeFileSync(join(dir, 'z'), '')
    const res = await call(`/files/info?path=${q(join(dir, 'x,y'))}&path=${q(join(dir, 'z'))}`)
    expect(Object.keys(await res.json())).toEqual([join(dir, 'x,y'), join(dir, 'z')])
  })

  test('?missing=omit leaves missing paths out (200) where the first is a 404; another value is a 400', async () => {
    writeFileSync(join(dir, 'here'), '')
    const paths = `path=${q(join(dir, 'gone-1'))}&path=${q(join(dir, 'here'))}&path=${q(join(dir, 'gone-2'))}`
    expect((await call(`/files/info?${paths}`)).status).toBe(404)
    const omitted = await call(`/files/info?${paths}&missing=omit`)
    expect([omitted.status, Object.keys(await omitted.json())]).toEqual([200, [join(dir, 'here')]])
    const other = await call(`/files/info?${paths}&missing=skip`)
    expect([other.status, ((await other.json()) as { code: string }).code]).toEqual([400, 'INVALID_REQUEST_BODY'])
  })

  test('download: HEAD, range, unicode Content-Disposition', async () => {
    const f = join(dir, '测试文件.txt')
    writeFileSync(f, '0123456789')
    const head = await call(`/files/download?path=${q(f)}`, { method: 'HEAD' })
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '10', ''])
    expect(head.headers.get('content-disposition')).toBe(
      `attachment; filename="%E6%B5%8B%E8%AF%95%E6%96%87%E4%BB%B6.txt"; filename*=UTF-8''%E6%B5%8B%E8%AF%95%E6%96%87%E4%BB%B6.txt`,
    )
    const part = await call(`/files/download?path=${q(f)}`, { headers: { range: 'bytes=3-5' } })
    expect([part.status, part.headers.get('content-range'), await part.text()]).toEqual([206, 'bytes 3-5/10', '345'])
    const lines = await call(`/files/download?path=${q(f)}&offset=1&limit=1`)
    expect([lines.headers.get('content-type'), await lines.text()]).toEqual(['text/plain; charset=utf-8', '0123456789'])
  })

  // The newer reference (serveLineRange: offset 1 and no limit when absent) and SDK 0.1.11 take
  // either alone; the older one served the whole file unless both came. Neither refuses one.
  test('download: offset alone reads to the end, limit alone from the first line', async () => {
    const f = join(dir, 'lines.txt')
    writeFileSync(f, 'one\ntwo\nthree\n')
    const from = await call(`/files/download?path=${q(f)}&offset=2`)
    expect([from.status, from.headers.get('content-type'), await from.text()]).toEqual([
      200,
      'text/plain; charset=utf-8',
      'two\nthree\n',
    ])
    const first = await call(`/files/download?path=${q(f)}&limit=2`)
    expect([first.status, await first.text()]).toEqual([200, 'one\ntwo\n'])
  })

  test('upload streams a body sent in chunks with no Content-Length', async () => {
    const enc = new TextEncoder()
    const B = 'chunked-b'
    const pieces = [
      `--${B}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\nContent-Type: application/json\r\n\r\n`,
      JSON.stringify({ path: join(dir, 'chunked.txt') }),
      `\r\n--${B}\r\nContent-Disposition: form-data; name="file"; filename="chunked.txt"\r\n\r\n`,
      'part one ',
      'part two',
      `\r\n--${B}--\r\n`,
    ]
    const body = new ReadableStream({
      start(c) {
        for (const p of pieces) c.enqueue(enc.encode(p))
        c.close()
      },
    })
    const res = await call('/files/upload', {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${B}` },
      // @ts-expect-error Bun's fetch types lack duplex
      duplex: 'half',
    })
    expect(res.status).toBe(200)
    expect(readFileSync(join(dir, 'chunked.txt'), 'utf8')).toBe('part one part two')
  })

  test('the OpenAPI document lists every route under the files and directories tags', async () => {
    const spec = await (await call('/openapi.json')).json()
    const ops = Object.entries(spec.paths as Record<string, Record<string, { tags?: string[] }>>).flatMap(
      ([path, methods]) => Object.entries(methods).map(([m, op]) => `${m.toUpperCase()} ${path} ${op.tags?.join(',')}`),
    )
    for (const route of [
      'GET /files/info files',
      'DELETE /files files',
      'POST /files/permissions files',
      'POST /files/mv files',
      'GET /files/search files',
      'POST /files/replace files',
      'POST /files/upload files',
      'GET /files/download files',
      'HEAD /files/download files',
      'GET /directories/list directories',
      'POST /directories directories',
      'DELETE /directories directories',
    ]) {
      expect(ops).toContain(route)
    }
  })
})
