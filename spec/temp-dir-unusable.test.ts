/**
 * execd with a temp dir it cannot use: TMPDIR missing, a file, or /proc (a kernel filesystem no
 * dir can be made in, which root's access(W_OK) passed); an unprivileged execd meets the same with
 * one it cannot write. What needs it says so, naming TMPDIR, as the server's trouble
 * (500), not the request's: a session's start was a 404 `FILE_NOT_FOUND` "file not found. ENOENT
 * … mkdtemp", with TMPDIR a file a 400, and the isolated sessions' capabilities a 404 of their
 * probe's mkdtemp. The start names it among what the container lacks; the rest serves.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-tmp-unusable-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const file = join(dir, 'a-file')
writeFileSync(file, '')

describe.each([
  ['missing', join(dir, 'missing')],
  ['a file', file],
  // As root, access(W_OK) said yes to /proc (not a read-only mount), and the start said nothing.
  ['/proc', '/proc'],
])('TMPDIR %s', (_what, tmp) => {
  test('a session is a 500 naming the temp dir; capabilities and the start say what it disables; the rest serves', async () => {
    const d = await startDaemon({ env: { TMPDIR: tmp, EXECD_PYTHON_SPARE: '0' } })
    try {
      const session = await postJson(d, '/session', {})
      const body = await session.json()
      expect({ status: session.status, code: body.code }).toEqual({ status: 500, code: 'RUNTIME_ERROR' })
      expect(body.message).toContain(`execd's temp dir ${tmp} cannot be used`)
      expect(body.message).toContain('TMPDIR')

      const caps: { name: string; ok: boolean; detail: string }[] = await (await d.fetch('/capabilities')).json()
      const piece = caps.find(c => c.name === 'temp dir')
      expect(piece?.ok).toBe(false)
      expect(piece?.detail).toContain(`${tmp} (TMPDIR)`)
      await waitFor('the start to name it', () => d.logs().includes('this container lacks temp dir'))

      if (Bun.which('bwrap')) {
        const isolated = await d.fetch('/v1/isolated/capabilities')
        expect(isolated.status).toBe(200)
        const answer = await isolated.json()
        expect(answer.available).toBe(false)
        expect(answer.message).toContain(`execd's temp dir ${tmp} cannot be used`)
      }

      // A command still runs (its log cannot be kept: the stream says so and gets everything).
      const frames = await readSse(await postJson(d, '/command', { command: 'echo ran' }))
      expect(frames.some(f => f.data.text === 'ran')).toBe(true)
      expect(frames.at(-1)?.data.type).toBe('execution_complete')
      expect((await d.fetch('/ping')).status).toBe(200)
    } finally {
      await d.stop()
    }
  })
})
