/**
 * The isolated files view's errors go through the one renderer the files section's own routes
 * have (core/mount.ts): the same answer, and the same log line, naming the path the client sent.
 * The view rendered its own before: an upload failing on a full disk answered alike and was
 * never logged. A small tmpfs is the full disk (root only: skipped visibly otherwise).
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf } from './kit/isolated'
import { logLine } from './kit/log-line'
import { scratchWithDisks } from './kit/small-disk'

const fx = daemonWithDir('isolated-files-errors')
const scratch = scratchWithDisks('isolated-files-errors')
const isRoot = process.getuid?.() === 0

/** A multipart upload of `bytes` zero bytes to `path`, as /files/upload takes it. */
function uploadOf(path: string, bytes: number): FormData {
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path })]), 'metadata')
  form.append('file', new Blob([new Uint8Array(bytes)]), 'big.bin')
  return form
}

describe.skipIf(!Bun.which('bwrap') || !isRoot)("the isolated files view's errors", () => {
  test('an upload onto a full disk fails as on /files/upload, and is logged with the path the client sent', async () => {
    const ws = scratch.smallDisk('1m')
    const direct = await fx.d.fetch('/files/upload', {
      method: 'POST',
      body: uploadOf(join(ws, 'direct.bin'), 2 << 20),
    })
    expect(direct.status).toBeGreaterThanOrEqual(500)
    const directBody = await direct.json()
    await logLine(fx.d, ['request failed', '"/files/upload"'])

    const s = await isolationOf(fx.d).create({ workspace: { path: ws, mode: 'rw' } })
    try {
      const path = `/v1/isolated/session/${s.sessionId}/files/upload`
      const res = await fx.d.fetch(path, { method: 'POST', body: uploadOf(join(ws, 'big.bin'), 2 << 20) })
      expect(res.status).toBe(direct.status)
      expect((await res.json()).code).toBe(directBody.code)
      const line = await logLine(fx.d, ['request failed', `"${path}"`])
      expect(line.error).toContain('big.bin')
    } finally {
      await s.delete()
    }
  })
})
