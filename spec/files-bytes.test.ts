/**
 * Names that are not UTF-8, sent back as the listing gave them (`path_base64`): every files
 * route that takes a path, through the executable, under --root.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('bytes', tmp => ['--root', tmp])
const q = encodeURIComponent
const b64 = (b: Buffer) => b.toString('base64')
/** `root/part/part…` as bytes; a part given as numbers is those bytes. */
const under =
  (root: string) =>
  (...parts: (string | number[])[]) =>
    Buffer.concat([Buffer.from(root), ...parts.map(p => Buffer.concat([Buffer.from('/'), Buffer.from(p)]))])

function upload(metadata: unknown, content: string) {
  const b = 'bytes'
  const body =
    `--${b}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n${JSON.stringify(metadata)}\r\n` +
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n${content}\r\n--${b}--\r\n`
  return fx.d.fetch('/files/upload', {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    body,
  })
}

describe('path_base64 round trip through dist/execd', () => {
  test('a name that is not UTF-8 is sent back by path_base64: download, info, list, search, delete', async () => {
    const root = join(fx.tmp, 'roundtrip')
    const at = under(root)
    mkdirSync(root)
    writeFileSync(at([0xff]), 'bytes')
    mkdirSync(at('d', [0xfe]), { recursive: true })
    writeFileSync(at('d', [0xfe], 'in'), '')

    const listed = (await (await fx.d.fetch(`/directories/list?path=${q(root)}`)).json()) as Record<string, string>[]
    const file = listed.find(e => e.path === `${root}/\\xff`)!
    expect(Buffer.from(file.path_base64!, 'base64')).toEqual(at([0xff]))

    const got = await fx.d.fetch(`/files/download?path_base64=${q(file.path_base64!)}`)
    expect([got.status, await got.text()]).toEqual([200, 'bytes'])
    expect(got.headers.get('content-disposition')).toBe(`attachment; filename="%FF"; filename*=UTF-8''%FF`)
    const info = await fx.d.fetch(`/files/info?path_base64=${q(file.path_base64!)}&path=${q(root)}`)
    expect(await info.json()).toEqual({
      [`${root}/\\xff`]: expect.objectContaining({ path: `${root}/\\xff`, path_base64: file.path_base64, size: 5 }),
      [root]: expect.objectContaining({ type: 'directory' }),
    })
    const inner = await fx.d.fetch(`/directories/list?path_base64=${q(b64(at('d', [0xfe])))}`)
    expect(await inner.json()).toEqual([
      expect.objectContaining({ path: `${root}/d/\\xfe/in`, path_base64: at('d', [0xfe], 'in').toString('base64') }),
    ])
    const found = await fx.d.fetch(`/files/search?path_base64=${q(b64(at('d', [0xfe])))}&pattern=in`)
    expect(((await found.json()) as { path: string }[]).map(e => e.path)).toEqual([`${root}/d/\\xfe/in`])

    expect((await fx.d.fetch(`/files?path_base64=${q(b64(at([0xff])))}`, { method: 'DELETE' })).status).toBe(200)
    expect(existsSync(at([0xff]))).toBe(false)
    expect((await fx.d.fetch(`/directories?path_base64=${q(b64(at('d', [0xfe])))}`, { method: 'DELETE' })).status).toBe(
      200,
    )
    expect(readdirSync(join(root, 'd'))).toEqual([])
  })

  test('JSON bodies name a path by its bytes: permissions, replace, mkdir, mv, upload', async () => {
    const root = join(fx.tmp, 'json')
    const at = under(root)
    mkdirSync(root)
    const file = at([0xfd])
    writeFileSync(file, 'old text')

    expect((await postJson(fx.d, '/files/permissions', { label: { path_base64: b64(file), mode: 600 } })).status).toBe(
      200,
    )
    expect(statSync(file).mode & 0o777).toBe(0o600)

    const replaced = await postJson(fx.d, '/files/replace?verbose=true', {
      label: { path_base64: b64(file), old: 'old', new: 'new' },
    })
    expect(await replaced.json()).toEqual({ label: { replacedCount: 1 } })
    expect(readFileSync(file, 'utf8')).toBe('new text')

    const made = at([0xfc], 'sub')
    expect((await postJson(fx.d, '/directories', { label: { path_base64: b64(made), mode: 700 } })).status).toBe(200)
    expect(statSync(made).mode & 0o777).toBe(0o700)

    const moved = at([0xfc], 'sub', [0xfb])
    expect((await postJson(fx.d, '/files/mv', [{ src_base64: b64(file), dest_base64: b64(moved) }])).status).toBe(200)
    expect([existsSync(file), readFileSync(moved, 'utf8')]).toEqual([false, 'new text'])

    const uploaded = at([0xfa])
    expect((await upload({ path_base64: b64(uploaded) }, 'uploaded')).status).toBe(200)
    expect(readFileSync(uploaded, 'utf8')).toBe('uploaded')
  })

  test('bytes are confined to the root; both forms at once, or bad base64, are 400', async () => {
    const outside = Buffer.concat([Buffer.from('/tmp/execd-bytes-'), Buffer.from([0xff])])
    const file = under(fx.tmp)('f.txt')
    writeFileSync(file, '')
    const cases: [string, Promise<Response>, RegExp][] = [
      ['download outside', fx.d.fetch(`/files/download?path_base64=${q(b64(outside))}`), /outside the root/],
      [
        'rmdir by ..',
        fx.d.fetch(`/directories?path_base64=${q(b64(Buffer.from('../x')))}`, { method: 'DELETE' }),
        /outside the root/,
      ],
      ['mv outside', postJson(fx.d, '/files/mv', [{ src: 'f.txt', dest_base64: b64(outside) }]), /outside the root/],
      ['upload outside', upload({ path_base64: b64(outside) }, 'x'), /outside the root/],
      ['both', fx.d.fetch(`/files/download?path=f.txt&path_base64=${q(b64(file))}`), /either 'path' or 'path_base64'/],
      [
        'mv both',
        postJson(fx.d, '/files/mv', [{ src: 'f.txt', src_base64: b64(file), dest: 'g' }]),
        /either 'src' or 'src_base64'/,
      ],
      ['not base64', fx.d.fetch(`/directories/list?path_base64=${q('not base64!')}`), /not standard base64/],
      ['unpadded', fx.d.fetch(`/files/info?path_base64=QQ`), /not standard base64/],
      ['chmod bad', postJson(fx.d, '/files/permissions', { x: { path_base64: '***' } }), /path_base64 of x/],
    ]
    for (const [name, pending, message] of cases) {
      const res = await pending
      const body = (await res.json()) as { code: string; message: string }
      expect([name, res.status, body.code, body.message]).toEqual([
        name,
        400,
        'INVALID_REQUEST_BODY',
        expect.stringMatching(message),
      ])
    }
    expect(existsSync(outside)).toBe(false)
    expect(existsSync(file)).toBe(true)
  })

  test('/openapi.json documents it: an optional FileInfo field, a query parameter, body fields', async () => {
    type Op = { parameters: { name: string }[]; responses: Record<string, unknown>; requestBody?: unknown }
    const doc = (await (await fx.d.fetch('/openapi.json')).json()) as {
      paths: { '/directories/list': { get: Op }; '/files/mv': { post: Op } }
    }
    const list = doc.paths['/directories/list'].get
    expect(list.parameters.map(p => p.name)).toContain('path_base64')
    const fileInfo = (list.responses['200'] as { content: { 'application/json': { schema: { items: Schema } } } })
      .content['application/json'].schema.items
    expect(fileInfo.properties.path_base64).toMatchObject({ type: 'string' })
    expect(fileInfo.required).not.toContain('path_base64')
    expect(JSON.stringify(doc.paths['/files/mv'].post.requestBody)).toContain('src_base64')
  })
})

type Schema = { properties: Record<string, unknown>; required: string[] }
