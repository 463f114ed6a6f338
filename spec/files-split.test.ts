/**
 * Uploads as curl frames them (its boundary, a metadata file part, then the file), with the
 * bytes arriving split at awkward places: inside the delimiters, inside look-alikes of them in
 * the file's own bytes, in pieces from a byte to over a MiB. The file written must be exactly
 * the file sent: the multipart parser keeps back a delimiter's length at every network chunk's
 * end and hands the file on in reused slabs, so a wrong seam shows up as a changed byte here.
 */
import { describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { patternChunks } from './files-transfer'
import { daemonWithDir } from './kit/daemon-dir'
import { curlUploadForm } from './kit/curl-upload'

const fx = daemonWithDir('split')

const tokenHeaders = (): Record<string, string> => (fx.d.token ? { 'X-EXECD-ACCESS-TOKEN': fx.d.token } : {})
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
/** curl 7.x/8.x's boundary: 24 dashes and 16 (older: 22+) random hex digits. */
const BOUNDARY = `------------------------${'5f0c3a9e7d21b486'}`

/**
 * `size` pseudo-random bytes salted every few KiB with look-alikes of the delimiter
 * (`\r\n--` + the boundary cut short by 1 to 16 bytes, and curl's bare dashes), so that many
 * network chunk ends fall inside one. Returns the bytes and where each look-alike starts.
 */
function salted(size: number, boundary: string): { bytes: Buffer; near: number[] } {
  const bytes = Buffer.concat([...patternChunks(size)])
  const near: number[] = []
  for (let at = 1000, i = 0; at + 200 < size; at += 3001 + ((i * 7919) % 4093), i++) {
    const cut = 1 + (i % 16)
    const look = i % 5 === 4 ? '\r\n--------------------------' : `\r\n--${boundary.slice(0, boundary.length - cut)}`
    bytes.write(look, at, 'latin1')
    near.push(at)
  }
  return { bytes, near }
}

function curlShapedBody(files: { path: string; bytes: Buffer }[], boundary: string): Buffer {
  const pieces: Buffer[] = []
  for (const f of files) {
    pieces.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n` +
          `Content-Type: application/json\r\n\r\n${JSON.stringify({ path: f.path, mode: 644 })}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      f.bytes,
      Buffer.from('\r\n'),
    )
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(pieces)
}

/**
 * Sends `head` then `body` over one TCP connection in pieces ending at `cuts` (offsets into
 * body), each written once the previous one was handed to the kernel and a macrotask has
 * passed, so that execd mostly reads them one by one. Returns the status line and body.
 */
async function sendInPieces(head: string, body: Buffer, cuts: number[]): Promise<{ status: number; text: string }> {
  const url = new URL(fx.d.url)
  const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const received: Buffer[] = []
  const ended = new Promise<void>(resolve => {
    socket.on('data', (c: Buffer) => {
      received.push(c)
      const text = Buffer.concat(received).toString('latin1')
      const at = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(text)?.[1]
      if (at >= 0 && length !== undefined && text.length >= at + 4 + Number(length)) resolve()
    })
    socket.on('close', () => resolve())
  })
  const write = (b: Uint8Array) =>
    new Promise<void>((resolve, reject) => socket.write(b, e => (e ? reject(e) : resolve())))
  await write(Buffer.from(head))
  let from = 0
  for (const cut of [...cuts.filter(c => c > 0 && c < body.length).sort((a, b) => a - b), body.length]) {
    if (cut <= from) continue
    await write(body.subarray(from, cut))
    await new Promise(r => setTimeout(r, 0))
    from = cut
  }
  await ended
  socket.destroy()
  const text = Buffer.concat(received).toString('utf8')
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text: text.slice(text.indexOf('\r\n\r\n') + 4) }
}

describe('uploads split at awkward places come out byte-exact', () => {
  test('curl-shaped body, pieces from 1 byte to 1.5 MiB cut inside every delimiter and look-alike', async () => {
    const a = salted(3 << 20, BOUNDARY)
    const b = salted((1 << 20) + 12345, BOUNDARY)
    const files = [
      { path: join(fx.tmp, 'a.bin'), bytes: a.bytes },
      { path: join(fx.tmp, 'b.bin'), bytes: b.bytes },
    ]
    const body = curlShapedBody(files, BOUNDARY)
    const delimiter = Buffer.from(`\r\n--${BOUNDARY}`)
    const cuts: number[] = []
    // Inside each real delimiter (and its CRLF, and the closing dashes), at every offset.
    for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + 1))
      for (let k = 1; k <= delimiter.length + 3; k++) cuts.push(at + k)
    // Inside look-alikes in both files, at a varying offset; big pieces in between.
    const aAt = body.indexOf(a.bytes.subarray(0, 64))
    const bAt = body.indexOf(b.bytes.subarray(0, 64))
    a.near.forEach((n, i) => i % 3 === 0 && cuts.push(aAt + n + (i % (delimiter.length + 2))))
    b.near.forEach((n, i) => i % 3 === 1 && cuts.push(bAt + n + 1 + (i % delimiter.length)))
    // Some 64 KiB-aligned cuts (a network chunk's usual end) and one piece over a MiB.
    for (let at = aAt + (1 << 16); at < aAt + (1 << 20); at += 1 << 16) cuts.push(at)
    const head =
      `POST /files/upload HTTP/1.1\r\nHost: ${new URL(fx.d.url).host}\r\n` +
      Object.entries(tokenHeaders())
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`
    const res = await sendInPieces(head, body, cuts)
    expect([res.status, res.text]).toEqual([200, expect.any(String)])
    for (const f of files) expect(sha(readFileSync(f.path))).toBe(sha(f.bytes))
  }, 60_000)

  test.skipIf(!Bun.which('curl'))(
    'curl -F itself: a file full of look-alikes of its boundary',
    async () => {
      const src = join(fx.tmp, 'src.bin')
      const meta = join(fx.tmp, 'meta.json')
      const headers = join(fx.tmp, 'headers.txt')
      const target = join(fx.tmp, 'from-curl.bin')
      // curl picks its boundary at random: look-alikes of its fixed dashes, cut at every length.
      const bytes = Buffer.concat([...patternChunks(5 << 20)])
      for (let at = 777, i = 0; at + 100 < bytes.length; at += 1500 + ((i * 613) % 2500), i++)
        bytes.write(`\r\n--${'-'.repeat(i % 27)}${'0123456789abcdef'.slice(0, i % 17)}`, at, 'latin1')
      writeFileSync(src, bytes)
      writeFileSync(meta, JSON.stringify({ path: target, mode: 644 }))
      writeFileSync(
        headers,
        Object.entries(tokenHeaders())
          .map(([k, v]) => `${k}: ${v}\n`)
          .join(''),
        { mode: 0o600 },
      )
      const proc = Bun.spawn(
        [
          'curl',
          '--silent',
          '--show-error',
          '--write-out',
          '\n%{http_code}',
          ...curlUploadForm(headers, meta, src),
          `${fx.d.url}/files/upload`,
        ],
        { stdout: 'pipe', stderr: 'pipe' },
      )
      const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
      await proc.exited
      expect([out.split('\n').pop(), err]).toEqual(['200', ''])
      expect(sha(readFileSync(target))).toBe(sha(bytes))
    },
    60_000,
  )
})
