/**
 * Uploads built to hold what execd has (the third attacker's pass): thousands of parts each in a
 * new directory against the fd limit, and metadata parts that never get their file parts against
 * memory. Each test fails on the executable before its fix; nothing is timed.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { rssMiB, startDaemon, uploadInNewDirectories } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

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
