/**
 * The isolated files view's errors are the files section's: the same words for a query both
 * refuse (the view's documented patterns answered in theirs), and the one renderer the files
 * section's own routes have (core/mount.ts), with the same log line, naming the path the client
 * sent (an upload failing on a full disk through the view was never logged). A small tmpfs is the
 * full disk (root only: skipped visibly otherwise).
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
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

/**
 * Asks each query (of a workspace holding a.txt, made by `queries`) of the files section's own
 * route and of an rw session's view of the workspace: the same status, type and body, `status`.
 */
async function sameAnswers(queries: (ws: string, file: string) => string[], status: number): Promise<void> {
  const ws = mkdtempSync(join(fx.tmp, 'ws-'))
  writeFileSync(join(ws, 'a.txt'), 'one\ntwo\nthree\n')
  const answer = async (r: Response) => ({
    status: r.status,
    type: r.headers.get('content-type'),
    body: await r.text(),
  })
  const s = await isolationOf(fx.d).create({ workspace: { path: ws, mode: 'rw' } })
  try {
    for (const q of queries(ws, join(ws, 'a.txt'))) {
      const own = await answer(await fx.d.fetch(`/${q}`))
      const view = await answer(await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/${q}`))
      expect({ q, ...view }).toEqual({ q, ...own })
      expect(own.status).toBe(status)
    }
  } finally {
    await s.delete()
  }
}

describe.skipIf(!Bun.which('bwrap'))("the isolated files view's refusals of a query", () => {
  test("are the files section's own, word for word", () =>
    sameAnswers(
      (ws, file) => [
        `directories/list?path=${ws}&depth=abc`,
        `directories/list?path=${ws}&depth=-1`,
        `files/download?path=${file}&offset=0`,
        `files/download?path=${file}&limit=x`,
        `files/download?path=${file}&offset=1&limit=0`,
      ],
      400,
    ))
})

describe.skipIf(!Bun.which('bwrap'))('the isolated files view, given an empty depth, offset or limit', () => {
  test('reads it as absent, as the files section does, and answers what its route answers', () =>
    sameAnswers(
      (ws, file) => [
        `directories/list?path=${ws}&depth=`,
        `files/download?path=${file}&offset=`,
        `files/download?path=${file}&limit=`,
        `files/download?path=${file}&offset=&limit=2`,
      ],
      200,
    ))
})
