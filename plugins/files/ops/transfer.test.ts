import { describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { PathScope } from '../../../core/beneath/path-scope'
import { failure as fail, tempDirPerTest } from '../../../spec/kit/test-roots'
import { downloadFile } from './download'
import { uploadFiles, writeFile } from './upload'

let dir = ''
const scope = new PathScope()
tempDirPerTest('execd-xfer-', d => (dir = d))
const p = (name: string) => join(dir, name)
const temps = (d = dir) =>
  readdirSync(d, { recursive: true })
    .map(String)
    .filter(n => n.includes('.execd-tmp-'))

const B = 'test-boundary'
type Part = { name: string; filename?: string; data: string | Uint8Array }
const meta = (m: object, asFile = true): Part => ({
  name: 'metadata',
  filename: asFile ? 'metadata' : undefined,
  data: JSON.stringify(m),
})
const file = (data: string | Uint8Array, filename = 'blob'): Part => ({ name: 'file', filename, data })

function multipart(parts: Part[], close = true): Uint8Array {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const fn = part.filename !== undefined ? `; filename="${part.filename}"` : ''
    chunks.push(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${part.name}"${fn}\r\n\r\n`))
    chunks.push(Buffer.from(part.data))
    chunks.push(Buffer.from('\r\n'))
  }
  if (close) chunks.push(Buffer.from(`--${B}--\r\n`))
  return Buffer.concat(chunks)
}

/** A request body in small chunks; `failAfter` bytes → the stream errors (a client that went away). */
function stream(bytes: Uint8Array, failAfter?: number): ReadableStream<Uint8Array> {
  let off = 0
  return new ReadableStream({
    pull(c) {
      if (failAfter !== undefined && off >= failAfter) return c.error(new Error('client went away'))
      if (off >= bytes.length) return c.close()
      c.enqueue(bytes.slice(off, off + 1000))
      off += 1000
    },
  })
}

const upload = (parts: Part[], max?: number) =>
  uploadFiles(scope, stream(multipart(parts)), `multipart/form-data; boundary=${B}`, max)

describe('uploadFiles', () => {
  test('several pairs in one request, each written with its mode', async () => {
    const written = await upload([
      meta({ path: p('a.txt'), mode: 600 }),
      file('AAA'),
      meta({ path: p('sub/dir/b.bin') }),
      file(''),
    ])
    expect(written).toEqual([
      { path: p('a.txt'), bytes: 3 },
      { path: p('sub/dir/b.bin'), bytes: 0 },
    ])
    expect(readFileSync(p('a.txt'), 'utf8')).toBe('AAA')
    expect(statSync(p('a.txt')).mode & 0o777).toBe(0o600)
    expect(readFileSync(p('sub/dir/b.bin'), 'utf8')).toBe('')
    expect(temps()).toEqual([])
  })
  test('a new file without a mode gets 0666 & ~umask, not the executable bits', async () => {
    await upload([meta({ path: p('n.txt') }), file('x')])
    expect(statSync(p('n.txt')).mode & 0o777).toBe(0o666 & ~process.umask())
  })
  test('replacing a file without a mode keeps its mode and owner', async () => {
    writeFileSync(p('keep.sh'), 'old')
    chmodSync(p('keep.sh'), 0o750)
    await upload([meta({ path: p('keep.sh') }), file('new')])
    expect(statSync(p('keep.sh')).mode & 0o777).toBe(0o750)
    expect(readFileSync(p('keep.sh'), 'utf8')).toBe('new')
  })
  test('metadata as a plain field, and metadata parts ahead of their files, pair by order', async () => {
    await upload([meta({ path: p('1') }, false), meta({ path: p('2') }, false), file('one'), file('two')])
    expect([readFileSync(p('1'), 'utf8'), readFileSync(p('2'), 'utf8')]).toEqual(['one', 'two'])
  })
  test('owner and group by numeric id', async () => {
    await upload([meta({ path: p('o'), owner: '2001', group: '2002' }), file('x')])
    expect([statSync(p('o')).uid, statSync(p('o')).gid]).toEqual([2001, 2002])
  })
  test('unicode names and binary content come through byte for byte', async () => {
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 7919) % 256)
    await upload([meta({ path: p('данные 数据.bin') }), file(bytes)])
    expect(Buffer.compare(readFileSync(p('данные 数据.bin')), Buffer.from(bytes))).toBe(0)
  })
  // Its own limit, the one `make unit` gives every test: run alone (`bun test` of this file) it had
  // Bun's default 5 s, which at load 15-20 the test's own CPU (most of its time: a writeUInt32LE
  // per word and two SHA-256 of 40 MiB) and a fsync behind other tenants' writes could pass. The
  // words now go through a typed array and the file is compared with memcmp: gen + check 280-480
  // -> 100-180 ms at load 13; the upload itself 65-200 ms.
  test('a file of 40 MiB (past the background-sync interval) in uneven chunks comes through byte for byte', async () => {
    const bytes = Buffer.allocUnsafe(40 << 20)
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
    for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761)
    const body = multipart([meta({ path: p('big.bin') }), file(bytes)])
    const sizes = [65536, 262144, 977, 524288 + 4096]
    let off = 0
    let i = 0
    const chunks = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= body.length) return c.close()
        const n = sizes[i++ % sizes.length] ?? 65536
        c.enqueue(body.subarray(off, off + n))
        off += n
      },
    })
    const written = await uploadFiles(scope, chunks, `multipart/form-data; boundary=${B}`)
    expect(written).toEqual([{ path: p('big.bin'), bytes: bytes.length }])
    const back = readFileSync(p('big.bin'))
    // Where it differs first, if it does (a 40 MiB diff says nothing).
    const firstDifference = back.equals(bytes) ? -1 : back.findIndex((b, i) => b !== bytes[i])
    expect([back.length, firstDifference]).toEqual([bytes.length, -1])
    expect(temps()).toEqual([])
  }, 60_000)
  test('through a symlink, the target gets the bytes and the link stays', async () => {
    writeFileSync(p('target'), 'old')
    symlinkSync('target', p('link'))
    await upload([meta({ path: p('link') }), file('new')])
    expect(readFileSync(p('target'), 'utf8')).toBe('new')
  })

  test('a client that goes away mid-file leaves the old file intact and no temp file', async () => {
    writeFileSync(p('victim'), 'precious')
    const body = multipart([meta({ path: p('victim') }), file(new Uint8Array(50_000).fill(120))])
    const e = await fail(uploadFiles(scope, stream(body, 20_000), `multipart/form-data; boundary=${B}`))
    expect(e.message).toBe('client went away')
    expect(readFileSync(p('victim'), 'utf8')).toBe('precious')
    expect(temps()).toEqual([])
  })
  test('a body that ends early (no closing boundary) writes nothing', async () => {
    writeFileSync(p('victim'), 'precious')
    const body = multipart([meta({ path: p('victim') }), file('partial')], false).slice(0, -10)
    const e = await fail(uploadFiles(scope, stream(body), `multipart/form-data; boundary=${B}`))
    expect(e.code).toBe('INVALID_FILE')
    expect(readFileSync(p('victim'), 'utf8')).toBe('precious')
    expect(temps()).toEqual([])
  })
  test('all or nothing: 2 metadata parts and 1 file → 400 and the first file is not written', async () => {
    const e = await fail(upload([meta({ path: p('new/m1') }), meta({ path: p('m2') }), file('x')]))
    expect([e.status, e.code]).toEqual([400, 'INVALID_FILE'])
    expect(readdirSync(dir)).toEqual([])
  })
  test('all or nothing: a later file failing leaves the earlier ones and their new parents unwritten', async () => {
    writeFileSync(p('keep'), 'old')
    mkdirSync(p('adir'))
    const e = await fail(
      upload([
        meta({ path: p('keep') }),
        file('new'),
        meta({ path: p('x/y/z') }),
        file('z'),
        meta({ path: p('adir') }),
        file('d'),
      ]),
    )
    expect(e.status).toBe(400)
    expect(readFileSync(p('keep'), 'utf8')).toBe('old')
    expect(readdirSync(dir).sort()).toEqual(['adir', 'keep'])
  })
  test('an aborted upload removes the parent directories it created, and only those', async () => {
    mkdirSync(p('have'))
    const body = multipart([meta({ path: p('have/new/deeper/f') }), file(new Uint8Array(50_000))])
    await fail(uploadFiles(scope, stream(body, 20_000), `multipart/form-data; boundary=${B}`))
    expect(readdirSync(dir)).toEqual(['have'])
    expect(readdirSync(p('have'))).toEqual([])
  })
  test('an owner id out of range is a 400 before anything is written', async () => {
    for (const owner of ['99999999999999999999', '4294967295']) {
      const e = await fail(upload([meta({ path: p('sub/o'), owner }), file('x')]))
      expect([e.status, e.message]).toEqual([400, `invalid user id: ${owner} (0..4294967294)`])
    }
    expect(readdirSync(dir)).toEqual([])
  })
  test('past the size limit → PAYLOAD_TOO_LARGE, nothing written, no temp file', async () => {
    const e = await fail(upload([meta({ path: p('big') }), file(new Uint8Array(10_000))], 5_000))
    expect([e.status, e.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect(temps()).toEqual([])
    expect(() => statSync(p('big'))).toThrow()
  })

  test.each([
    ['no parts at all', [] as Part[], 'INVALID_FILE_METADATA', 'metadata file is missing'],
    ['a file without metadata', [file('x')], 'INVALID_FILE_METADATA', 'metadata file is missing'],
    ['metadata without a file', [meta({ path: '/tmp/x' })], 'INVALID_FILE_CONTENT', 'file is missing'],
    [
      'more metadata than files',
      [meta({ path: '/tmp/x1' }), meta({ path: '/tmp/x2' }), file('a')],
      'INVALID_FILE',
      'metadata and file count mismatch: 2 vs 1',
    ],
    [
      'metadata that is not JSON',
      [{ name: 'metadata', filename: 'metadata', data: '{nope' }, file('a')],
      'INVALID_FILE_METADATA',
      'invalid metadata format. ',
    ],
    ['metadata without a path', [meta({ mode: 644 }), file('a')], 'INVALID_FILE_METADATA', 'metadata path is empty'],
    [
      'a mode given as a string',
      [meta({ path: '/tmp/x', mode: '644' }), file('a')],
      'INVALID_FILE_METADATA',
      "invalid metadata format. 'mode'",
    ],
    [
      'a mode with the digit 9',
      [meta({ path: '/tmp/x', mode: 799 }), file('a')],
      'INVALID_REQUEST_BODY',
      'invalid mode 799',
    ],
    [
      'an unknown owner',
      [meta({ path: '/tmp/x', owner: 'nobody-xyz' }), file('a')],
      'INVALID_REQUEST_BODY',
      'unknown user: nobody-xyz',
    ],
  ])('%s → 400 %s', async (_name, parts, code, message) => {
    const e = await fail(upload(parts))
    expect(e.status).toBe(400)
    expect(e.code as string).toBe(code)
    expect(e.message).toStartWith(message)
  })
  test('a body that is not multipart → 400 INVALID_FILE', async () => {
    const e = await fail(uploadFiles(scope, stream(Buffer.from('{}')), 'application/json'))
    expect([e.code, e.message]).toEqual([
      'INVALID_FILE',
      'multipart form is empty. expected a multipart/form-data body with a boundary',
    ])
  })
})

describe('downloadFile', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
  test('streams the whole file with the reference headers', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
    writeFileSync(p('data.bin'), bytes)
    const res = await downloadFile(scope, { path: p('data.bin') })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(bytes.length))
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="data.bin"')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('last-modified')).toBe(
      new Date(Math.floor(statSync(p('data.bin')).mtimeMs / 1000) * 1000).toUTCString(),
    )
    expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(bytes))
  })
  test('a range → 206 with Content-Range and just those bytes', async () => {
    writeFileSync(p('r'), '0123456789')
    const res = await downloadFile(scope, { path: p('r'), range: 'bytes=2-4' })
    expect([res.status, res.headers.get('content-range'), res.headers.get('content-length'), await res.text()]).toEqual(
      [206, 'bytes 2-4/10', '3', '234'],
    )
    expect(await (await downloadFile(scope, { path: p('r'), range: 'bytes=-3' })).text()).toBe('789')
    expect(await (await downloadFile(scope, { path: p('r'), range: 'bytes=7-' })).text()).toBe('789')
  })
  test('HEAD has the headers and no body', async () => {
    writeFileSync(p('h'), 'hello')
    const res = await downloadFile(scope, { path: p('h'), method: 'HEAD' })
    expect([res.headers.get('content-length'), await res.text()]).toEqual(['5', ''])
  })
  test('an empty file is a 200 with Content-Length 0', async () => {
    writeFileSync(p('e'), '')
    const res = await downloadFile(scope, { path: p('e') })
    expect([res.status, res.headers.get('content-length'), await res.text()]).toEqual([200, '0', ''])
  })
  test('If-Modified-Since not older than the file → 304', async () => {
    writeFileSync(p('c'), 'x')
    const res = await downloadFile(scope, {
      path: p('c'),
      ifModifiedSince: new Date(Date.now() + 60_000).toUTCString(),
    })
    expect(res.status).toBe(304)
  })
  test('lines offset/limit as text/plain, 1-based; a last line without its newline is sent without one, as the file holds it', async () => {
    writeFileSync(p('l'), 'one\ntwo\nthree\nfour')
    const read = async (offset?: string, limit?: string) =>
      (await downloadFile(scope, { path: p('l'), offset, limit })).text()
    expect(await read('2', '2')).toBe('two\nthree\n')
    expect(await read('3', '10')).toBe('three\nfour')
    expect(await read('1', '1')).toBe('one\n')
    expect(await read('9', '1')).toBe('')
    expect(await read(undefined, '1')).toBe('one\n')
    expect(await read('4')).toBe('four')
    expect(await read('4', '1')).toBe('four')
  })
  test('lines across read-buffer boundaries', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`)
    writeFileSync(p('many'), lines.join('\n') + '\n')
    const text = await (await downloadFile(scope, { path: p('many'), offset: '15000', limit: '3000' })).text()
    expect(text).toBe(lines.slice(14_999, 17_999).join('\n') + '\n')
  })
  test('bad inputs: directory 400, missing 404, dangling symlink 404, bad offset/limit 400, lines + Range 400', async () => {
    mkdirSync(p('d'))
    writeFileSync(p('f'), 'x')
    symlinkSync(p('gone'), p('dangling'))
    expect((await fail(downloadFile(scope, { path: p('d') }))).message).toBe(`path is a directory: ${p('d')}`)
    expect((await fail(downloadFile(scope, { path: p('nope') }))).message).toBe(
      `file not found. open ${p('nope')}: no such file or directory`,
    )
    expect((await fail(downloadFile(scope, { path: p('dangling') }))).status).toBe(404)
    expect((await fail(downloadFile(scope, { path: p('f'), offset: '0', limit: '1' }))).message).toBe(
      'offset must be a positive integer (1-based)',
    )
    expect((await fail(downloadFile(scope, { path: p('f'), offset: '1', limit: 'x' }))).message).toBe(
      'limit must be a positive integer',
    )
    expect((await fail(downloadFile(scope, { path: p('f'), offset: '1', range: 'bytes=0-1' }))).status).toBe(400)
    const e = await fail(downloadFile(scope, { path: p('f'), range: 'bytes=5-' }))
    expect([e.status, e.headers?.['content-range']]).toEqual([416, 'bytes */1'])
  })
})

describe('descriptors', () => {
  // Files and directories only: the runtime's own eventfds, pipes and sockets come and go with
  // its threads (a count of every descriptor was off by one under load, on main as well).
  const open = () =>
    readdirSync('/proc/self/fd').filter(fd => {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`)
        return target.startsWith('/') && !target.startsWith('/dev/') && !target.startsWith('/proc/')
      } catch {
        return false
      }
    }).length
  test('writeFile and uploads into one directory give back every descriptor they opened', async () => {
    const before = open()
    await writeFile(scope, { path: p('single') }, [Buffer.from('one')])
    const parts = Array.from({ length: 50 }, (_, i) => [meta({ path: p(`f${i}`) }), file(String(i))]).flat()
    const body = stream(multipart(parts))
    await uploadFiles(scope, body, `multipart/form-data; boundary=${B}`)
    expect(readFileSync(p('single'), 'utf8')).toBe('one')
    expect(readFileSync(p('f49'), 'utf8')).toBe('49')
    expect(open()).toBe(before)
  })
})
