/**
 * An upload trickled a byte at a time (each byte restarts Bun's 120 s idle timeout) held a
 * request slot and a staged file for as long as its client liked: `--max-requests` of them made
 * every request, `/ping` included, a 503. `--upload-min-rate` (bytes/s averaged over every
 * `--upload-rate-window` of waiting) ends such a body with a 408, the staged file removed;
 * an upload that is slow but keeps the rate is untouched. Set through the environment here, so
 * that the executable before them runs these tests too (and never answers the trickle).
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { isWhole, openRaw } from './raw-http'

// 1,000 bytes/s over 1 s: a byte every 200 ms is far below it.
const fx = daemonWithDir('upload-pace', () => ({
  env: { EXECD_UPLOAD_MIN_RATE: '1000', EXECD_UPLOAD_RATE_WINDOW_MS: '1000' },
}))

interface Reply {
  status: number
  body: string
  closed: boolean
}

/** A raw upload of `target` to `route` whose body is written by `send`; the reply as it came. */
async function upload(
  route: string,
  target: string,
  send: (write: (bytes: string | Buffer) => void) => Promise<void>,
  bodyBytes: number,
): Promise<{ reply: Promise<Reply>; sent: Promise<void> }> {
  const url = new URL(fx.d.url)
  const head =
    `--pb\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n` +
    `${JSON.stringify({ path: target })}\r\n--pb\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n`
  const tail = '\r\n--pb--\r\n'
  const socket = await openRaw(fx.d.url)
  socket.write(
    `POST ${route} HTTP/1.1\r\nHost: ${url.host}\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
      `Content-Type: multipart/form-data; boundary=pb\r\nContent-Length: ${head.length + bodyBytes + tail.length}\r\n\r\n${head}`,
  )
  const sent = send(bytes => {
    if (!socket.closed) socket.write(bytes)
  }).then(() => {
    if (!socket.closed) socket.write(tail)
  })
  const reply = (async () => {
    // Generous: the rule trips after about a second; the executable before it never answers.
    const limit = Date.now() + 30_000
    while (!socket.closed && Date.now() < limit && !isWhole(socket.data)) await Bun.sleep(50)
    // The connection closes right after a 408; give it a moment to show.
    if (!socket.closed && !socket.data.startsWith('HTTP/1.1 200')) await Promise.race([socket.gone, Bun.sleep(2000)])
    socket.end()
    return { ...socket.reply(), closed: socket.closed }
  })()
  return { reply, sent }
}

/** A byte every 200 ms for up to 30 s, until the reply came. */
const trickle = (done: () => boolean) => async (write: (b: string) => void) => {
  for (let i = 0; i < 150 && !done(); i++) {
    write('x')
    await Bun.sleep(200)
  }
}

async function tricklesOut(route: string, target: string, where: string): Promise<void> {
  let answered = false
  const { reply } = await upload(
    route,
    target,
    trickle(() => answered),
    150,
  )
  const r = await reply
  answered = true
  expect(r.status).toBe(408)
  const body = JSON.parse(r.body.slice(r.body.indexOf('{')))
  expect(body.code).toBe('REQUEST_TIMEOUT')
  expect(body.message).toContain('--upload-min-rate')
  expect(r.closed).toBe(true)
  // Nothing at the target, no staged temp file beside it.
  expect(readdirSync(where)).toEqual([])
}

describe('upload minimum rate', () => {
  test('an upload trickled a byte every 200 ms is a 408, its staged file removed', async () => {
    const where = mkdtempSync(join(fx.tmp, 'trickle-'))
    await tricklesOut('/files/upload', join(where, 'f'), where)
    // The daemon serves on.
    expect((await fx.d.fetch('/ping')).status).toBe(200)
  }, 60_000)

  test('a slow upload that keeps the rate, with a pause shorter than the window, arrives whole', async () => {
    const where = mkdtempSync(join(fx.tmp, 'steady-'))
    const piece = Buffer.alloc(4096, 'y')
    const pieces = 20
    const { reply, sent } = await upload(
      '/files/upload',
      join(where, 'f'),
      async write => {
        for (let i = 0; i < pieces; i++) {
          write(piece)
          // ~40 KB/s, and once a pause of a third of the window.
          await Bun.sleep(i === 10 ? 300 : 100)
        }
      },
      pieces * piece.length,
    )
    await sent
    const r = await reply
    expect(r.status).toBe(200)
    expect(readFileSync(join(where, 'f')).length).toBe(pieces * piece.length)
    expect(readdirSync(where)).toEqual(['f'])
  }, 60_000)

  test('an upload that keeps the rate while execd itself is stopped for longer than the window arrives whole', async () => {
    const where = mkdtempSync(join(fx.tmp, 'stopped-'))
    const piece = Buffer.alloc(2048, 'z')
    const pieces = 50
    const { reply, sent } = await upload(
      '/files/upload',
      join(where, 'f'),
      async write => {
        for (let i = 0; i < pieces; i++) {
          // execd stopped (SIGSTOP, as `docker pause` freezes it) for 25 pieces, ~2.5 windows:
          // the client sends on into the kernel's buffers meanwhile.
          if (i === 10) fx.d.proc.kill('SIGSTOP')
          if (i === 35) fx.d.proc.kill('SIGCONT')
          write(piece)
          await Bun.sleep(100)
        }
      },
      pieces * piece.length,
    )
    try {
      await sent
    } finally {
      fx.d.proc.kill('SIGCONT')
    }
    const r = await reply
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: '' })
    expect(readFileSync(join(where, 'f')).length).toBe(pieces * piece.length)
  }, 60_000)

  test.skipIf(!Bun.which('bwrap'))(
    "an isolated session's upload route has the same rule",
    async () => {
      const ws = mkdtempSync(join(fx.tmp, 'ws-'))
      const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws } })
      expect(created.status).toBe(201)
      const id = (await created.json()).session_id as string
      try {
        await tricklesOut(`/v1/isolated/session/${id}/files/upload`, join(ws, 'f'), ws)
      } finally {
        await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
      }
    },
    60_000,
  )
})
