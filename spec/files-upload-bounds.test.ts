/**
 * Uploads built to hold what execd has (the third attacker's pass): thousands of parts each in a
 * new directory against the fd limit, and metadata parts that never get their file parts against
 * memory. Each test fails on the executable before its fix; nothing is timed.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { connect, type Socket } from 'node:net'
import { rssMiB, startDaemon, uploadInNewDirectories, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { portOf } from './raw-http'

const fx = daemonWithDir('upload-bounds')

describe.skipIf(!Bun.which('prlimit'))('an upload of many small files, each in a new directory', () => {
  // Each staged file holds its directory (and each directory its walk created) open until the
  // request ends, so the fds of one request grew with its parts: 10,000 tiny parts took all
  // 20,000 fds of execd, and every other request, accept included, failed with EMFILE for as
  // long as the client left its body unfinished. The daemon's limit is lowered to 2,048 here so
  // that 1,100 parts cross it (2 fds each).
  test('is refused with a 503 naming the limit before it holds the fd limit, and leaves nothing behind', async () => {
    const limited = await startDaemon()
    try {
      const pid = limited.proc.pid
      expect(spawnSync('prlimit', ['--pid', String(pid), '--nofile=2048:2048']).status).toBe(0)
      const dir = mkdtempSync(join(fx.tmp, 'up-'))
      const res = await uploadInNewDirectories(limited, dir, 1100)
      const body = await res.json()
      expect(body.code).toBe('SERVICE_UNAVAILABLE')
      expect(res.status).toBe(503)
      expect(body.message).toContain('a quarter of the fd limit')
      // All or nothing: no file and no directory of the refused request stays.
      expect(readdirSync(dir)).toEqual([])
      // The fds were given back: a small upload goes through.
      const b = 'upload-bounds-boundary'
      const one = `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${dir}/one"}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhi\r\n--${b}--\r\n`
      const ok = await limited.fetch('/files/upload', {
        method: 'POST',
        body: one,
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      })
      expect(ok.status).toBe(200)
      expect(readFileSync(join(dir, 'one'), 'utf8')).toBe('hi')
      expect(existsSync(join(dir, 'd0'))).toBe(false)
    } finally {
      await limited.stop()
    }
  }, 60_000)
})

describe('an upload of metadata parts that never get their file parts', () => {
  // The metadata parts waiting for their file parts were kept without a bound, and uploads have
  // no size limit by default: 40,000 metadata parts of 4 KiB paths grew execd by 195 MiB,
  // linearly in the body.
  test('is refused with a 413 once their paths pass 16 MiB, execd memory flat', async () => {
    const b = 'upload-bounds-metadata'
    const path = join(fx.tmp, 'a/'.repeat(2000), 'f')
    const part = new TextEncoder().encode(
      `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ path })}\r\n`,
    )
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 20_000) c.enqueue(part)
        else {
          c.enqueue(new TextEncoder().encode(`--${b}--\r\n`))
          c.close()
        }
      },
    })
    const before = rssMiB(fx.d.proc.pid)
    const res = await fx.d.fetch('/files/upload', {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    })
    const answer = await res.json()
    expect(answer.code).toBe('PAYLOAD_TOO_LARGE')
    expect(res.status).toBe(413)
    expect(answer.message).toContain('send each metadata part just before its file part')
    expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(64)
    expect(existsSync(join(fx.tmp, 'a'))).toBe(false)
  }, 60_000)
})

describe('uploads at once, each holding metadata parts that wait for their file parts', () => {
  // The bound of 16 MiB was each upload's: 20 uploads each holding 15.5 MiB of parts and waiting
  // grew execd from 57 to 416 MiB. All uploads together hold 64 MiB at most now, an upload's
  // first part waiting never refused for what the others hold.
  const UPLOADS = 8
  test('are refused with a 503 past 64 MiB in all, and an upload sent as the SDKs send goes on', async () => {
    const b = 'upload-bounds-all'
    const path = join(fx.tmp, 'all/', 'a/'.repeat(2000), 'f')
    const part = `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ path })}\r\n`
    // Each upload's parts cost just under its own bound (16 MiB, 256 bytes a part besides its path).
    const body = part.repeat(Math.floor((16 * 1024 * 1024 - 4096) / (256 + path.length)))
    const holders = Array.from({ length: UPLOADS }, () => {
      const socket: Socket = connect(portOf(fx.d.url), '127.0.0.1')
      const h = { socket, data: '', closed: false }
      socket.setEncoding('latin1')
      socket.on('data', chunk => (h.data += chunk))
      socket.on('close', () => (h.closed = true))
      socket.on('error', () => {})
      // Chunked, the last chunk never sent: the upload waits for more.
      socket.write(
        `POST /files/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
          `Content-Type: multipart/form-data; boundary=${b}\r\nTransfer-Encoding: chunked\r\n\r\n` +
          `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`,
      )
      return h
    })
    try {
      const refused = () => holders.filter(h => h.data.startsWith('HTTP/1.1 503'))
      // 8 × 15.5 MiB against 64 MiB in all: at least 4 refused (generous wait: no time asserted).
      await waitFor('the uploads past the bound refused', () => refused().length >= UPLOADS / 2, 60_000)
      const reply = refused()[0]!.data
      const answer = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/, ''))
      expect(answer.code).toBe('SERVICE_UNAVAILABLE')
      expect(answer.message).toContain('in all uploads')
      // Meanwhile an upload whose metadata part comes just before its file part is served.
      const dir = mkdtempSync(join(fx.tmp, 'up-'))
      const one = `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${dir}/one"}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhi\r\n--${b}--\r\n`
      const ok = await fx.d.fetch('/files/upload', {
        method: 'POST',
        body: one,
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      })
      expect(ok.status).toBe(200)
      expect(readFileSync(join(dir, 'one'), 'utf8')).toBe('hi')
    } finally {
      for (const h of holders) h.socket.destroy()
    }
    expect(existsSync(join(fx.tmp, 'all'))).toBe(false)
  }, 120_000)
})
