/**
 * Modes with a fourth digit (4755, 2775, 1777): the setuid, setgid and sticky bits are dropped on
 * every route that sets a mode, as the reference drops them, so what `GET /files/info` reports
 * (`& 0o777`, the reference's) is the mode the file has.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, startDaemon, type Daemon } from './harness'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-special-bits-')))
let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const modeOf = (path: string) => statSync(path).mode & 0o7777
const infoMode = async (path: string) =>
  ((await (await d.fetch(`/files/info?path=${encodeURIComponent(path)}`)).json()) as Record<string, { mode: number }>)[
    path
  ]!.mode

test('POST /files/permissions sets 4755 as 755, and clears the bits a file had when told 7751', async () => {
  const f = join(dir, 'perm')
  writeFileSync(f, '#!/bin/sh\n')
  expect((await postJson(d, '/files/permissions', { [f]: { mode: 4755 } })).status).toBe(200)
  expect(modeOf(f)).toBe(0o755)
  expect(await infoMode(f)).toBe(755)
  chmodSync(f, 0o6755)
  expect((await postJson(d, '/files/permissions', { [f]: { mode: 7751 } })).status).toBe(200)
  expect(modeOf(f)).toBe(0o751)
})

test('POST /directories makes a 1777 or 2775 directory 777 or 775', async () => {
  const sticky = join(dir, 'sticky')
  const group = join(dir, 'group')
  expect((await postJson(d, '/directories', { [sticky]: { mode: 1777 }, [group]: { mode: 2775 } })).status).toBe(200)
  expect([modeOf(sticky), modeOf(group)]).toEqual([0o777, 0o775])
  expect([await infoMode(sticky), await infoMode(group)]).toEqual([777, 775])
})

test('POST /files/upload writes a file whose metadata says 4755 as 755', async () => {
  const f = join(dir, 'up')
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path: f, mode: 4755 })]), 'metadata')
  form.append('file', new Blob(['#!/bin/sh\n']), 'up')
  expect((await d.fetch('/files/upload', { method: 'POST', body: form })).status).toBe(200)
  expect(modeOf(f)).toBe(0o755)
  expect(await infoMode(f)).toBe(755)
})
