import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExecdError } from './errors'
import { fileBody } from './file-body'

const dir = mkdtempSync(join(tmpdir(), 'execd-file-body-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * A 206 of bytes start…end of a file of `size` bytes that shrinks to `cut` after its stat and
 * before its body is read, as a download racing a truncation meets it.
 */
async function rangeOfShrunk(size: number, start: number, end: number, cut: number) {
  const path = join(dir, `f${size}-${cut}`)
  const data = Buffer.from(Array.from({ length: size }, (_, i) => (i % 250) + 1))
  writeFileSync(path, data)
  const handle = await open(path, 'r')
  truncateSync(path, cut)
  const headers = { 'content-range': `bytes ${start}-${end - 1}/${size}` }
  const res = await fileBody('GET', handle, start, end, 206, headers)
  const body = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    length: res.headers.get('content-length'),
    range: res.headers.get('content-range'),
    body,
    data,
  }
}

test('a range of a file that shrank: its headers name the bytes sent, not those asked for', async () => {
  const small = await rangeOfShrunk(100, 10, 60, 30)
  expect([small.status, small.length, small.range]).toEqual([206, '20', 'bytes 10-29/30'])
  expect(small.body.equals(small.data.subarray(10, 30))).toBe(true)
  // Past 4 MiB the body is a copy (or the file itself): the same headers.
  const mib = 1024 * 1024
  const large = await rangeOfShrunk(6 * mib, mib, 6 * mib, 5 * mib)
  expect([large.status, large.length, large.range]).toEqual([
    206,
    String(4 * mib),
    `bytes ${mib}-${5 * mib - 1}/${5 * mib}`,
  ])
  expect(large.body.equals(large.data.subarray(mib, 5 * mib))).toBe(true)
})

test('a range of which nothing is left: 416 with the size the file has now', async () => {
  for (const size of [100, 6 * 1024 * 1024]) {
    const err = await rangeOfShrunk(size, 50, size, 20).catch(e => e)
    expect(err).toBeInstanceOf(ExecdError)
    expect([err.code, err.headers?.['content-range']]).toEqual(['RANGE_NOT_SATISFIABLE', 'bytes */20'])
  }
})

/** Descriptors of this process open on unnamed files in TMPDIR (the download copies). */
function copiesOpen(): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(tmpdir(), '#'))) n++
    } catch {}
  }
  return n
}

test('a private copy stays open until its answer is over, so the copy is freed by execd, off the event loop', async () => {
  const path = join(dir, 'unread')
  writeFileSync(path, Buffer.alloc(24 * 1024 * 1024, 7))
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (request, server) =>
      fileBody('GET', await open(path, 'r'), 0, 24 * 1024 * 1024, 200, {}, { answer: { request, server } }),
  })
  // A client that asks and never reads: more than the sockets' buffers hold stays unsent.
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: server.port!,
    socket: {
      data() {},
      open(s) {
        s.pause?.()
      },
    },
  })
  try {
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`)
    const deadline = Date.now() + 10_000
    while (copiesOpen() < 2 && Date.now() < deadline) await Bun.sleep(50)
    // Bun's descriptor and execd's, well past the hand-over that closed execd's before.
    await Bun.sleep(500)
    expect(copiesOpen()).toBe(2)
  } finally {
    socket.end()
  }
  const deadline = Date.now() + 10_000
  while (copiesOpen() > 0 && Date.now() < deadline) await Bun.sleep(50)
  expect(copiesOpen()).toBe(0)
  server.stop(true)
}, 30_000)
