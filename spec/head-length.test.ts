/**
 * HEAD on the routes that answer it themselves keeps the length GET would send: Elysia answers
 * a HEAD on a dynamic route with that path's GET route and set Content-Length to the length of
 * the body it read (0), so `curl -I` through the proxy or on an isolated session's download
 * said 0 bytes (core/mount.ts: such a HEAD goes to Elysia as its GET, marked).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf } from './kit/isolated'

const fx = daemonWithDir('head-length')
const SIZE = 12_345
const upstream = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('x'.repeat(SIZE)) })
afterAll(() => upstream.stop(true))

const lengthOf = async (path: string, method: string) => {
  const res = await fx.d.fetch(path, { method })
  const body = await res.arrayBuffer()
  return { status: res.status, header: res.headers.get('content-length'), bytes: body.byteLength }
}

test.each(['/', '//'])("HEAD through the proxy (path %s) says the upstream's length", async slash => {
  const path = `/proxy/${upstream.port}${slash}file`
  // GET relays the body as it streams (chunked): the length is HEAD's to tell.
  expect((await lengthOf(path, 'GET')).bytes).toBe(SIZE)
  expect(await lengthOf(path, 'HEAD')).toEqual({ status: 200, header: String(SIZE), bytes: 0 })
})

test("HEAD on the files section's download says the file's length", async () => {
  const file = join(mkdtempSync(join(fx.tmp, 'head-')), 'f.bin')
  writeFileSync(file, Buffer.alloc(SIZE))
  const path = `/files/download?path=${encodeURIComponent(file)}`
  expect(await lengthOf(path, 'HEAD')).toEqual({ status: 200, header: String(SIZE), bytes: 0 })
})

describe.skipIf(!Bun.which('bwrap'))('an isolated session', () => {
  test("HEAD on its files/download says the file's length", async () => {
    const ws = mkdtempSync(join(fx.tmp, 'ws-'))
    writeFileSync(join(ws, 'f.bin'), Buffer.alloc(SIZE))
    await isolationOf(fx.d).withSession({ workspace: { path: ws } }, async s => {
      const path = `/v1/isolated/session/${s.sessionId}/files/download?path=${encodeURIComponent(join(ws, 'f.bin'))}`
      expect(await lengthOf(path, 'GET')).toEqual({ status: 200, header: String(SIZE), bytes: SIZE })
      expect(await lengthOf(path, 'HEAD')).toEqual({ status: 200, header: String(SIZE), bytes: 0 })
    })
  })
})
