/**
 * The two refusals whose log line named no holder (core/held-slots.ts): `--max-requests`, whose
 * count is Bun's and names no request, and the uploads' budget of open directories. Each now
 * logs `held` in the shape of every pool: the requests by route group and age, those that
 * answered and still send counted apart (the streams' pool beside it names them); the uploads
 * by request, each with the directories it holds. The wire's `{code, message}` is unchanged.
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon, uploadInNewDirectories } from './harness'
import { logLine } from './kit/log-line'

/** The `request refused` line whose error contains `words`, parsed (waited for: kit/log-line.ts). */
const refusedLine = (d: Daemon, words: string) => logLine(d, ['"msg":"request refused"', words])

/** An upload whose body never ends: its request is in flight, its answer not begun. */
async function unfinishedUpload(d: Daemon): Promise<Socket> {
  const { port } = new URL(d.url)
  const socket = connect(Number(port), '127.0.0.1')
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.write(
    'POST /files/upload HTTP/1.1\r\nHost: localhost\r\n' +
      `X-EXECD-ACCESS-TOKEN: ${d.token}\r\n` +
      'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n',
  )
  return socket
}

test('past --max-requests, the line says which requests held it: by route group and age, and the streams', async () => {
  const d = await startDaemon({ args: ['--max-requests', '3', '--log-level', 'warn'] })
  const abort = new AbortController()
  let socket: Socket | undefined
  try {
    const watches = await Promise.all([1, 2].map(() => d.fetch('/metrics/watch', { signal: abort.signal })))
    expect(watches.map(r => r.status)).toEqual([200, 200])
    socket = await unfinishedUpload(d)
    let refused: Response | undefined
    for (let i = 0; i < 50 && refused?.status !== 503; i++) {
      refused = await d.fetch('/ping')
      if (refused.status !== 503) await Bun.sleep(100)
    }
    expect(refused?.status).toBe(503)
    expect(await refused!.json()).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: 'limit reached: at most 3 requests in flight (--max-requests); retry later or raise the limit',
    })
    const line = await refusedLine(d, '--max-requests')
    expect(line?.path).toBe('/ping')
    expect(line.held).toMatchObject({
      what: 'requests in flight',
      max: 3,
      held: 3,
      byKind: { 'POST /files': 1, 'answered, still sending (streams, downloads)': 2 },
    })
    expect(line.held.oldest).toEqual([{ kind: 'POST /files', ms: expect.any(Number) }])
    expect(line.streams).toMatchObject({ what: 'concurrent streams', held: 2, byKind: { 'GET /metrics/watch': 2 } })
    // And the downloads still being sent (none here): the other answers that still send.
    expect(line.downloads).toMatchObject({ what: 'downloads still sending', max: 0, held: 0 })
  } finally {
    socket?.destroy()
    abort.abort()
    await d.stop()
  }
}, 60_000)

describe.skipIf(!Bun.which('prlimit'))("the uploads' budget of open directories", () => {
  // At 2,048 fds the budget is 512 directories: 600 parts, each in a new directory (2 fds), pass it.
  test('refused, the line names the upload that held it and how many it held', async () => {
    const d = await startDaemon({ args: ['--log-level', 'warn'] })
    const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'held-up-'))
    try {
      expect(spawnSync('prlimit', ['--pid', String(d.proc.pid), '--nofile=2048:2048']).status).toBe(0)
      const res = await uploadInNewDirectories(d, dir, 600)
      expect(res.status).toBe(503)
      expect((await res.json()).message).toContain('a quarter of the fd limit')
      expect(readdirSync(dir)).toEqual([])
      const line = await refusedLine(d, 'directories open')
      expect(line?.path).toBe('/files/upload')
      // One upload held all but the last directory it asked for: 2 fds a file, 256 files.
      expect(line.held).toMatchObject({ what: 'upload directories open', max: 512, held: 512, byKind: { upload: 512 } })
      expect(line.held.oldest).toEqual([{ kind: 'upload', ms: expect.any(Number), units: 512 }])
      // Nothing is named by what the client sent: no path of its files.
      expect(JSON.stringify(line.held)).not.toContain(dir)
    } finally {
      await d.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
