/**
 * Downloads of files that change while they stream, through the compiled executable. A log
 * rotated or rewritten with `>`, a build output replaced: a large download is copied before it
 * is answered (core/file-snapshot.ts), so it is the file as it was then, whatever happens to
 * the file afterwards. It must never send a byte that was not in the file: sent from the file
 * itself, a truncation zeroed bytes already queued on the socket (sendfile queues the file's
 * own pages). Where a body is not copied (past --download-copy-max, no TMPDIR) it is the file
 * itself, and it must end as soon as the file ends, never wait for the idle timeout (120 s) with
 * a Content-Length it can no longer keep.
 *
 * The client is a raw socket: it sees the bytes as they arrive and whether the server closed,
 * which a fetch body hides. It gives up on a response after 20 s, far below the idle timeout:
 * a response that stalls fails the test (not closed, short) instead of ending late.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon, waitFor } from './harness'
import { portOf } from './raw-http'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
/** Far below the 120 s idle timeout: a response still open after this has stalled. */
const GIVE_UP_MS = 20_000
const LIMIT_MS = 40_000
/** Tries of the truncation race: on the build before, most of them sent zeros. */
const TRIES = 12

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-download-change-')))
const original = Buffer.alloc(SIZE)
let d: Daemon
/** One that copies no body (--download-copy-max 0, by its env): it sends from the file itself. */
let uncopied: Daemon
/** One that cannot copy a body: its TMPDIR does not exist. */
let noTmp: Daemon
beforeAll(async () => {
  // Random bytes: any byte sent from the wrong place or from nowhere shows in the comparison.
  for (let at = 0; at < SIZE; at += 65_536) crypto.getRandomValues(original.subarray(at, at + 65_536))
  d = await startDaemon()
  uncopied = await startDaemon({ env: { EXECD_DOWNLOAD_COPY_MAX: '0' } })
  noTmp = await startDaemon({ env: { TMPDIR: join(dir, 'missing') } })
})
afterAll(async () => {
  await d?.stop()
  await uncopied?.stop()
  await noTmp?.stop()
  rmSync(dir, { recursive: true, force: true })
})

interface Reply {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The server closed the connection (rather than the whole promised body arriving). */
  closed: boolean
  /** Neither happened within GIVE_UP_MS. */
  stalled: boolean
}

/**
 * GET /files/download of `path`; `change` runs once, as the first bytes of the body arrive: the
 * daemon is then mid-stream, at most the socket buffers (a few MiB) ahead of the client. Ends
 * when the server closes, or when the promised Content-Length has arrived, or after GIVE_UP_MS.
 */
function downloadWhileChanging(d: Daemon, path: string, change: () => void, range?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(portOf(d.url), '127.0.0.1')
    let head: Buffer = Buffer.alloc(0)
    let reply: Reply | undefined
    const chunks: Buffer[] = []
    let received = 0
    let changed = false
    const finish = (closed: boolean, stalled = false) => {
      clearTimeout(timer)
      socket.destroy()
      if (!reply) return reject(new Error(`no reply head (closed=${closed}): ${head.toString('latin1', 0, 200)}`))
      resolve({ ...reply, body: Buffer.concat(chunks), closed, stalled })
    }
    const timer = setTimeout(() => finish(false, true), GIVE_UP_MS)
    const onBody = (bytes: Buffer) => {
      chunks.push(bytes)
      received += bytes.length
      if (!changed && received > 0) {
        changed = true
        change()
      }
      if (received >= Number(reply!.headers['content-length'])) finish(false)
    }
    socket.on('data', (chunk: Buffer) => {
      if (reply) return onBody(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine, ...lines] = head.toString('latin1', 0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      reply = {
        status: Number(statusLine?.split(' ')[1]),
        headers,
        body: Buffer.alloc(0),
        closed: false,
        stalled: false,
      }
      if (end + 4 < head.length) onBody(head.subarray(end + 4))
    })
    socket.on('end', () => finish(true))
    socket.on('error', err => (reply ? finish(true) : reject(err)))
    socket.write(
      `GET /files/download?path=${encodeURIComponent(path)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `X-EXECD-ACCESS-TOKEN: ${d.token}\r\n${range ? `Range: ${range}\r\n` : ''}\r\n`,
    )
  })
}

/** A fresh copy of the original bytes (the first `size` of them). */
function fileOf(name: string, size = SIZE): string {
  const path = join(dir, name)
  writeFileSync(path, original.subarray(0, size))
  return path
}

/** The body is a prefix of what the file held from `start` on: nothing invented, nothing moved. */
function expectBytesOfFile(body: Buffer, start: number) {
  expect(body.equals(original.subarray(start, start + body.length))).toBe(true)
}

describe('a download of a file that changes while it streams', () => {
  test(
    'truncated to 0, to half: the whole file as it was when the download began',
    async () => {
      for (const [name, size] of [
        ['to-zero.bin', 0],
        ['to-half.bin', SIZE / 2],
      ] as const) {
        const path = fileOf(name)
        const r = await downloadWhileChanging(d, path, () => truncateSync(path, size))
        expect([r.status, r.headers['content-length'], r.stalled, r.body.length]).toEqual([
          200,
          String(SIZE),
          false,
          SIZE,
        ])
        expectBytesOfFile(r.body, 0)
      }
    },
    LIMIT_MS,
  )

  test(
    'a Range whose region disappears: the whole region as it was',
    async () => {
      const path = fileOf('range.bin')
      const start = SIZE / 2
      const r = await downloadWhileChanging(d, path, () => truncateSync(path, SIZE / 4), `bytes=${start}-`)
      expect([r.status, r.headers['content-length'], r.headers['content-range'], r.stalled]).toEqual([
        206,
        String(SIZE - start),
        `bytes ${start}-${SIZE - 1}/${SIZE}`,
        false,
      ])
      expect(r.body.length).toBe(SIZE - start)
      expectBytesOfFile(r.body, start)
    },
    LIMIT_MS,
  )

  test(
    'truncated inside a page again and again as it starts: never a byte the file did not hold',
    async () => {
      // The kernel sends a file's pages by reference (sendfile), and a truncation zeroes the
      // part of the page it cuts, past the new end, pages already queued on a socket included:
      // the client read zeros where the file had data. Cut inside a (large) page as the answer
      // starts, every try did it on the build before (12 of 12: zeros from the cut on).
      const size = 16 * MiB
      const cut = 3 * MiB + 4_097
      const bad: string[] = []
      for (let i = 0; i < TRIES; i++) {
        const path = fileOf(`inside-page-${i}.bin`, size)
        const r = await downloadWhileChanging(d, path, () => truncateSync(path, cut))
        const length = Number(r.headers['content-length'])
        const same = r.body.equals(original.subarray(0, r.body.length))
        const wrong = same ? -1 : r.body.findIndex((b, at) => b !== original[at])
        if (r.stalled || wrong >= 0 || (!r.closed && r.body.length !== length))
          bad.push(`try ${i}: ${r.body.length} of ${length} bytes, first wrong byte at ${wrong}, closed ${r.closed}`)
        rmSync(path)
      }
      expect(bad).toEqual([])
    },
    LIMIT_MS * 2,
  )

  test(
    'a file that grows: the answer is the promised length, the bytes the file had',
    async () => {
      const path = fileOf('grows.bin')
      const r = await downloadWhileChanging(d, path, () => appendFileSync(path, Buffer.alloc(8 * MiB, 'x')))
      expect([r.status, r.headers['content-length'], r.stalled]).toEqual([200, String(SIZE), false])
      expect(r.body.length).toBe(SIZE)
      expectBytesOfFile(r.body, 0)
    },
    LIMIT_MS,
  )

  test(
    'a file replaced by rename: the old file, whole (its descriptor is what is copied)',
    async () => {
      const path = fileOf('replaced.bin')
      const r = await downloadWhileChanging(d, path, () => {
        writeFileSync(`${path}.new`, 'the new, shorter file')
        renameSync(`${path}.new`, path)
      })
      expect([r.status, r.headers['content-length'], r.stalled]).toEqual([200, String(SIZE), false])
      expect(r.body.length).toBe(SIZE)
      expectBytesOfFile(r.body, 0)
    },
    LIMIT_MS,
  )

  test(
    'sent from the file itself (no copy): truncated to 0, the response ends at once, short, with only bytes the file had',
    async () => {
      const path = fileOf('uncopied-to-zero.bin')
      const r = await downloadWhileChanging(uncopied, path, () => truncateSync(path, 0))
      expect([r.status, r.headers['content-length'], r.stalled, r.closed]).toEqual([200, String(SIZE), false, true])
      expect(r.body.length).toBeLessThan(SIZE)
      expectBytesOfFile(r.body, 0)
    },
    LIMIT_MS,
  )

  test(
    'sent from the file itself (no copy): a Range whose region disappears ends at once, short',
    async () => {
      const path = fileOf('uncopied-range.bin')
      const start = SIZE / 2
      const r = await downloadWhileChanging(uncopied, path, () => truncateSync(path, SIZE / 4), `bytes=${start}-`)
      expect([r.status, r.headers['content-length'], r.stalled, r.closed]).toEqual([
        206,
        String(SIZE - start),
        false,
        true,
      ])
      expect(r.body.length).toBeLessThan(SIZE - start)
      expectBytesOfFile(r.body, start)
    },
    LIMIT_MS,
  )

  test(
    'where no copy can be made (TMPDIR missing), a large download is the file itself, whole',
    async () => {
      const path = fileOf('no-tmp.bin')
      const r = await downloadWhileChanging(noTmp, path, () => {})
      expect([r.status, r.headers['content-length'], r.headers.connection, r.stalled]).toEqual([
        200,
        String(SIZE),
        'close',
        false,
      ])
      expect(r.body.length).toBe(SIZE)
      expectBytesOfFile(r.body, 0)
    },
    LIMIT_MS,
  )

  test(
    'once those responses are over, execd holds no descriptor of any of those files, nor of a copy',
    async () => {
      // A copy is an unnamed file (O_TMPFILE): its link reads `<TMPDIR>/#<inode> (deleted)`.
      const open = (pid: number) =>
        readdirSync(`/proc/${pid}/fd`).filter(fd => {
          try {
            const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
            return target.startsWith(dir) || /\/#\d+ \(deleted\)$/.test(target)
          } catch {
            return false
          }
        })
      // execd keeps its own descriptor a moment after the response starts (Bun opens a copy of
      // it for the body; core/file-body.ts): wait for that, not a fixed time.
      for (const daemon of [d, uncopied, noTmp]) {
        const pid = daemon.proc.pid
        await waitFor('the downloaded files closed', () => open(pid).length === 0, LIMIT_MS - 5_000)
        expect(open(pid)).toEqual([])
      }
    },
    LIMIT_MS,
  )
})
