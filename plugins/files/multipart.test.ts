import { describe, expect, test } from 'bun:test'
import { ExecdError } from '../../core/errors'
import { boundaryOf, parseMultipart } from './multipart'

const B = 'XyZ-boundary-123'
const enc = (s: string) => new TextEncoder().encode(s)

/** A stream that hands out `bytes` in chunks of the given sizes (cycled). */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let off = 0
  let i = 0
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close()
      const n = sizes[i++ % sizes.length] ?? bytes.length
      c.enqueue(bytes.slice(off, off + n))
      off += n
    },
  })
}

const body = (parts: { name: string; filename?: string; data: string }[], preamble = '') =>
  enc(
    preamble +
      parts
        .map(
          p =>
            `--${B}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n` +
            `Content-Type: application/octet-stream\r\n\r\n${p.data}\r\n`,
        )
        .join('') +
      `--${B}--\r\n`,
  )

async function collect(stream: ReadableStream<Uint8Array>, max?: number) {
  const out: { name: string; filename?: string; data: string }[] = []
  for await (const part of parseMultipart(stream, B, max)) {
    const chunks: Uint8Array[] = []
    for await (const c of part.body) chunks.push(Buffer.from(c))
    out.push({
      name: part.name,
      ...(part.filename ? { filename: part.filename } : {}),
      data: Buffer.concat(chunks).toString(),
    })
  }
  return out
}

const SAMPLE = [
  { name: 'metadata', filename: 'metadata', data: '{"path":"/a"}' },
  { name: 'file', filename: 'a.txt', data: `line1\r\nline2\r\n--${B.slice(0, 5)} not a boundary\r\n` },
  { name: 'metadata', data: '{"path":"/b"}' },
  { name: 'file', filename: 'b.bin', data: '' },
]

describe('parseMultipart', () => {
  test('parts come out in order with names, filenames and exact bytes', async () => {
    expect(await collect(chunked(body(SAMPLE), [1 << 16]))).toEqual(SAMPLE)
  })

  test('every chunk size from 1 to 80 bytes gives the same parts (boundaries split across chunks)', async () => {
    const bytes = body(SAMPLE, 'preamble to ignore\r\n')
    for (let size = 1; size <= 80; size++) {
      expect(await collect(chunked(bytes, [size]))).toEqual(SAMPLE)
    }
  })

  test('irregular chunk sizes too', async () => {
    expect(await collect(chunked(body(SAMPLE), [3, 1, 7, 64, 2, 19]))).toEqual(SAMPLE)
  })

  test('parts larger than a write slice, with near-boundaries at every chunk seam, come out exact', async () => {
    // ~2.5 MiB of text dense with boundary prefixes, so a kept-back tail often looks like a
    // delimiter's start; chunk sizes that put the seams everywhere.
    const near = `\r\n--${B.slice(0, 9)}`
    let data = ''
    for (let i = 0; data.length < 2.5 * (1 << 20); i++) data += i % 7 === 0 ? near : `${i} `
    const parts = [
      { name: 'metadata', filename: 'metadata', data: '{"path":"/a"}' },
      { name: 'file', filename: 'big', data },
      { name: 'file', filename: 'small', data: near },
    ]
    const bytes = body(parts)
    for (const sizes of [[1 << 15], [32749, 17, 5, 65521], [B.length + 1, 1 << 16]])
      expect(await collect(chunked(bytes, sizes))).toEqual(parts)
  })

  test('a chunk is freed once parsed, a view into a shared buffer is not, and the parts stay exact', async () => {
    const near = `\r\n--${B.slice(0, 9)}`
    let data = ''
    for (let i = 0; data.length < 3 << 20; i++) data += i % 5 === 0 ? near : `${i} `
    const parts = [
      { name: 'metadata', filename: 'metadata', data: '{"path":"/a"}' },
      { name: 'file', filename: 'big', data },
    ]
    const bytes = body(parts)
    const owned: Uint8Array[] = []
    const views: Uint8Array[] = []
    let off = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= bytes.length) return c.close()
        const n = 65521
        // Every other chunk is a view into the whole body, which the parser must leave alone.
        const chunk = (owned.length + views.length) % 2 ? bytes.subarray(off, off + n) : bytes.slice(off, off + n)
        ;((owned.length + views.length) % 2 ? views : owned).push(chunk)
        c.enqueue(chunk)
        off += n
      },
    })
    expect(await collect(stream)).toEqual(parts)
    // All but the last couple (which hold the closing delimiter) are given back early.
    expect(owned.filter(c => c.byteLength === 0).length).toBeGreaterThan(owned.length - 3)
    expect(views.every(c => c.byteLength > 0)).toBe(true)
    expect(Buffer.from(bytes).toString()).toBe(Buffer.from(body(parts)).toString())
  })

  test('a large part comes out in slices of 512 KiB, not 1 MiB', async () => {
    // A write of 1 MiB gets a 1 MiB page-cache folio, which on a VM with free page reporting
    // comes from blocks the host faults in again (multipart.ts, WRITE_BYTES).
    const data = 'x'.repeat(3 << 20)
    const bytes = body([{ name: 'file', filename: 'big', data }])
    for await (const part of parseMultipart(chunked(bytes, [1 << 16]), B)) {
      const sizes: number[] = []
      for await (const slice of part.body) sizes.push(slice.byteLength)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(data.length)
      expect(Math.max(...sizes)).toBeLessThanOrEqual((512 << 10) + (1 << 16))
      expect(sizes.length).toBeLessThanOrEqual(7)
    }
  })

  test('an unread part body is skipped', async () => {
    const names: string[] = []
    for await (const part of parseMultipart(chunked(body(SAMPLE), [5]), B)) names.push(part.name)
    expect(names).toEqual(['metadata', 'file', 'metadata', 'file'])
  })

  test('a body cut short is an error, not a silent end', async () => {
    const bytes = body(SAMPLE)
    const cut = bytes.slice(0, bytes.length - 40)
    await expect(collect(chunked(cut, [7]))).rejects.toThrow('unexpected end')
  })

  test('no boundary at all is INVALID_FILE', async () => {
    const err = await collect(chunked(enc('just text'), [4])).catch(e => e as ExecdError)
    expect((err as ExecdError).code).toBe('INVALID_FILE')
  })

  test('more bytes than the limit is PAYLOAD_TOO_LARGE', async () => {
    const err = await collect(chunked(body(SAMPLE), [10]), 50).catch(e => e as ExecdError)
    expect((err as ExecdError).code).toBe('PAYLOAD_TOO_LARGE')
  })

  test('a part without Content-Disposition is malformed', async () => {
    const bytes = enc(`--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${B}--\r\n`)
    await expect(collect(chunked(bytes, [100]))).rejects.toThrow('Content-Disposition')
  })

  test('filename* (RFC 5987) is decoded', async () => {
    const bytes = enc(
      `--${B}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''%E6%B5%8B.txt\r\n\r\nx\r\n--${B}--`,
    )
    expect(await collect(chunked(bytes, [100]))).toEqual([{ name: 'file', filename: '测.txt', data: 'x' }])
  })
})

describe('boundaryOf', () => {
  test('reads plain and quoted boundaries of multipart/form-data only', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc')).toBe('abc')
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b')
    expect(boundaryOf('application/json')).toBeUndefined()
    expect(boundaryOf('multipart/form-data')).toBeUndefined()
    expect(boundaryOf(null)).toBeUndefined()
  })
})
