/**
 * A request target whose percent-encoded bytes are not UTF-8. The URL parser decodes them into
 * U+FFFD: `DELETE /files?path=<dir>/x%FF` removed a file named `x\uFFFD` — another file than the
 * one named — and `x%FF`, `x%FE` and an overlong `%C0%AE` all named such files. Now a 400 that
 * says so, before any route runs; the exact bytes go as `path_base64`, as they did.
 */
import { expect, test } from 'bun:test'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('target')
const dir = fx.tmp
const replaced = join(dir, 'x\uFFFD')

const answer = async (res: Response) => ({
  status: res.status,
  body: (await res.json()) as { code: string; message: string },
})

test('a path whose escapes are not UTF-8 is a 400, and the file named with U+FFFD is left alone', async () => {
  writeFileSync(replaced, 'not the one named')
  for (const escaped of ['%FF', '%fe', '%C0%AE%C0%AE', '%ED%A0%80']) {
    const { status, body } = await answer(await fx.d.fetch(`/files?path=${dir}/x${escaped}`, { method: 'DELETE' }))
    expect({ escaped, status, code: body.code }).toEqual({ escaped, status: 400, code: 'INVALID_REQUEST_BODY' })
    expect(body.message).toContain('path_base64')
    expect(existsSync(replaced)).toBe(true)
  }
  const info = await answer(await fx.d.fetch(`/files/info?path=${dir}/x%ff`))
  expect(info.status).toBe(400)
  // A U+FFFD sent on purpose still names it.
  expect((await fx.d.fetch(`/files/info?path=${dir}/x%EF%BF%BD`)).status).toBe(200)
})

test('the exact bytes go as path_base64, as before', async () => {
  writeFileSync(replaced, 'not the one named')
  const bytes = Buffer.concat([Buffer.from(`${dir}/y`), Buffer.from([0xff])])
  writeFileSync(bytes, 'named by its bytes')
  const b64 = encodeURIComponent(bytes.toString('base64'))
  const res = await fx.d.fetch(`/files?path_base64=${b64}`, { method: 'DELETE' })
  expect(res.status).toBe(200)
  expect(existsSync(bytes)).toBe(false)
  expect(existsSync(replaced)).toBe(true)
})

test('in a path parameter too: the contract JSON naming the escape', async () => {
  const { status, body } = await answer(await fx.d.fetch('/command/status/%ff%fe'))
  expect(status).toBe(400)
  expect(body.message).toContain('%ff%fe is not UTF-8')
})
