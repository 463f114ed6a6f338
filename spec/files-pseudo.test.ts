/**
 * Kernel pseudo-files (procfs, sysfs) downloaded and described by their content, not by their
 * stat size: /proc files said 0 and downloaded empty, a sysfs attribute said 4096 in HEAD and
 * /files/info while GET sent the few bytes it holds.
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()

const download = (path: string, init: RequestInit = {}) =>
  fx.d.fetch(`/files/download?path=${encodeURIComponent(path)}`, init)
const infoSize = async (path: string) => {
  const res = await fx.d.fetch(`/files/info?path=${encodeURIComponent(path)}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as Record<string, { size: number }>)[path]?.size
}

/** A small sysfs attribute whose stat size (a page) is not its content. */
const sysfsFile = [
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/sys/kernel/address_bits',
  '/sys/kernel/cpu_byteorder',
  '/sys/fs/cgroup/cgroup.controllers',
].find(p => existsSync(p) && statSync(p).size !== readFileSync(p).length)
if (!sysfsFile)
  console.warn('skipped: spec/files-pseudo.test.ts found no sysfs attribute whose size differs from its stat')

describe('pseudo-files answer their content', () => {
  test('GET /proc/version sends its text; HEAD and /files/info give the same length', async () => {
    const text = readFileSync('/proc/version')
    expect(statSync('/proc/version').size).toBe(0)
    const res = await download('/proc/version')
    expect(res.status).toBe(200)
    const body = Buffer.from(await res.arrayBuffer())
    // Before: a 200 with Content-Length 0 and no body.
    expect(body.toString()).toBe(text.toString())
    expect(res.headers.get('content-length')).toBe(String(text.length))
    const head = await download('/proc/version', { method: 'HEAD' })
    expect(head.headers.get('content-length')).toBe(String(text.length))
    expect(await infoSize('/proc/version')).toBe(text.length)
  })

  test('a Range of a /proc file is its bytes; past its end a 416 naming its length', async () => {
    const text = readFileSync('/proc/version')
    const part = await download('/proc/version', { headers: { range: 'bytes=0-4' } })
    expect(part.status).toBe(206)
    expect(await part.text()).toBe(text.subarray(0, 5).toString())
    expect(part.headers.get('content-range')).toBe(`bytes 0-4/${text.length}`)
    const past = await download('/proc/version', { headers: { range: `bytes=${text.length + 10}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${text.length}`)
  })

  test('a line-based read of /proc/cpuinfo gives its first line', async () => {
    const res = await fx.d.fetch('/files/download?path=/proc/cpuinfo&offset=1&limit=1')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`${readFileSync('/proc/cpuinfo', 'utf8').split('\n')[0]}\n`)
  })

  test.skipIf(!sysfsFile)('a sysfs attribute: HEAD, GET and /files/info agree on its length', async () => {
    const path = sysfsFile ?? ''
    const text = readFileSync(path)
    const head = await download(path, { method: 'HEAD' })
    // Before: 4096, the page the attribute's stat claims.
    expect(head.headers.get('content-length')).toBe(String(text.length))
    const res = await download(path)
    expect(Buffer.from(await res.arrayBuffer()).equals(text)).toBe(true)
    expect(await infoSize(path)).toBe(text.length)
    const past = await download(path, { headers: { range: `bytes=${text.length}-` } })
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${text.length}`])
  })

  // Now that /proc files download whole: execd's own argv and environ hold no part of its token
  // (core/secrets.ts scrubs them), so downloading them gives none away.
  test("execd's own /proc/self/cmdline and environ download without its token", async () => {
    for (const path of ['/proc/self/cmdline', '/proc/self/environ', `/proc/${fx.d.proc.pid}/cmdline`]) {
      const res = await download(path)
      expect(res.status).toBe(200)
      const body = Buffer.from(await res.arrayBuffer())
      expect(body.length).toBeGreaterThan(0)
      expect(body.includes(fx.d.token)).toBe(false)
      expect(body.includes(fx.d.token.slice(2, 12))).toBe(false)
    }
  })

  test('a pseudo-file past the cap (/proc/<pid>/pagemap) is a 413 JSON error; execd keeps answering', async () => {
    const res = await download(`/proc/${fx.d.proc.pid}/pagemap`)
    expect(res.status).toBe(413)
    const body = (await res.json()) as { code: string; message: string }
    expect(body.code).toBe('PAYLOAD_TOO_LARGE')
    expect(body.message).toContain('pagemap')
    expect((await fx.d.fetch('/ping')).status).toBe(200)
  })

  test('a read the kernel fails (/proc/<pid>/mem at address 0: EIO) is a 500 naming the read, not the open', async () => {
    for (const path of ['/proc/self/mem', `/proc/${fx.d.proc.pid}/mem`]) {
      const res = await download(path)
      expect(res.status).toBe(500)
      // Before: "error accessing file: open /proc/self/mem: error EIO" — the open had succeeded.
      expect(await res.json()).toEqual({
        code: 'RUNTIME_ERROR',
        message: `error accessing file: read ${path}: input/output error`,
      })
    }
    expect((await fx.d.fetch('/ping')).status).toBe(200)
  })

  test('a FIFO with a silent writer is refused at once, nothing waits on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execd-spec-pseudo-'))
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK)
    try {
      const res = await download(fifo)
      expect(res.status).toBe(400)
      expect((await fx.d.fetch('/ping')).status).toBe(200)
    } finally {
      closeSync(writer)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('POST /files/replace on a pseudo-file', () => {
  const refused = async (path: string, old: string) => {
    const res = await postJson(fx.d, '/files/replace', { [path]: { old, new: 'x' } })
    return { status: res.status, body: (await res.json()) as { code: string; message: string } }
  }

  test('a /proc file is a 400 saying why, not a 404 for a file that exists', async () => {
    const { status, body } = await refused('/proc/version', 'Linux')
    // Before: 404 FILE_NOT_FOUND "no such file" (its temp file could not be made in /proc).
    expect([status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(body.message).toContain('/proc/version is a kernel pseudo-file')
  })

  test.skipIf(!sysfsFile)('a sysfs attribute is the same 400, not a 500 EACCES; it is unchanged', async () => {
    const path = sysfsFile ?? ''
    const before = readFileSync(path)
    const { status, body } = await refused(path, before.subarray(0, 3).toString())
    expect([status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(body.message).toContain(`${path} is a kernel pseudo-file`)
    expect(readFileSync(path).equals(before)).toBe(true)
  })
})
