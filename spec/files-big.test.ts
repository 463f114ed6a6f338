/**
 * 1 GiB through dist/execd: upload and download byte-identical, execd's memory growth, and a
 * client killed mid-upload. Opt-in (EXECD_BIG_TESTS=1): it writes 2 GiB to disk and takes a
 * while on a shared machine. The default suite runs the 64 MiB version in files.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon } from './harness'
import { hashBody, memoryOf, multipartStream, patternChunks, sha256Of } from './files-transfer'

const BIG = process.env.EXECD_BIG_TESTS === '1'
const SIZE = 1024 * 1024 * 1024
const dir = BIG ? realpathSync(mkdtempSync(join(process.env.EXECD_BIG_DIR ?? tmpdir(), 'execd-big-'))) : ''
let d: Daemon
const temps = () => readdirSync(dir).filter(n => n.includes('.execd-tmp-'))

beforeAll(async () => {
  if (BIG) d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!BIG)('1 GiB (set EXECD_BIG_TESTS=1)', () => {
  test('upload and download are byte-identical and execd memory stays flat', async () => {
    const expected = sha256Of(patternChunks(SIZE))
    const target = join(dir, 'one-gib.bin')
    const before = memoryOf(d.proc.pid)
    let t = performance.now()
    const res = await d.fetch('/files/upload', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=big-b' },
      body: multipartStream('big-b', [{ meta: { path: target }, chunks: () => patternChunks(SIZE) }]),
      // @ts-expect-error Bun's fetch types lack duplex
      duplex: 'half',
    })
    expect(res.status).toBe(200)
    const upMs = performance.now() - t
    const afterUp = memoryOf(d.proc.pid)
    expect(statSync(target).size).toBe(SIZE)
    t = performance.now()
    const [n, sha] = await hashBody(await d.fetch(`/files/download?path=${encodeURIComponent(target)}`))
    const downMs = performance.now() - t
    const after = memoryOf(d.proc.pid)
    expect([n, sha]).toEqual([SIZE, expected])
    console.log(
      `1 GiB: upload ${(upMs / 1000).toFixed(1)} s, download ${(downMs / 1000).toFixed(1)} s; execd VmRSS ` +
        `${before.rss.toFixed(1)} → ${afterUp.rss.toFixed(1)} (after upload) → ${after.rss.toFixed(1)} MiB; ` +
        `VmHWM ${before.hwm.toFixed(1)} → ${after.hwm.toFixed(1)} MiB (growth ${(after.hwm - before.hwm).toFixed(1)} MiB)`,
    )
    expect(after.hwm - before.hwm).toBeLessThan(128)
  }, 600_000)

  test('a client killed half-way through a 1 GiB upload leaves the previous file intact and no temp file', async () => {
    const target = join(dir, 'victim.bin')
    writeFileSync(target, 'previous')
    const url = new URL(d.url)
    const head = `--kb\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n${JSON.stringify({ path: target })}\r\n--kb\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n`
    let drained: () => void = () => {}
    const socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: { data() {}, drain: () => drained() },
    })
    socket.write(
      `POST /files/upload HTTP/1.1\r\nHost: ${url.host}\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=kb\r\nContent-Length: ${head.length + SIZE + 8}\r\n\r\n${head}`,
    )
    let sent = 0
    for (const chunk of patternChunks(SIZE / 2)) {
      let off = 0
      while (off < chunk.length) {
        const n = socket.write(chunk.subarray(off))
        off += n
        if (off < chunk.length) await new Promise<void>(r => (drained = r))
      }
      sent += chunk.length
    }
    const during = temps()
    socket.terminate()
    for (let i = 0; i < 1000 && temps().length > 0; i++) await Bun.sleep(10)
    console.log(
      `killed after ${(sent / 1048576).toFixed(0)} MiB: temp files during ${during.length}, after ${temps().length}`,
    )
    expect(during.length).toBe(1)
    expect(temps()).toEqual([])
    expect(readFileSync(target, 'utf8')).toBe('previous')
  }, 600_000)
})
