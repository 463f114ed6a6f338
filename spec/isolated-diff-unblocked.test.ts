/**
 * The diff of an overlay session never holds the event loop: a workspace's FIFO or link is
 * counted as binary in the patch rather than read, and the walk of many written files is
 * awaited file by file, /ping answered meanwhile. Each test fails on the executable before its
 * fix. No timing: a run that must end is read to its end.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const fx = daemonAlone()

describe.skipIf(!Bun.which('bwrap'))(
  'the patch of an overlay session over a workspace holding a FIFO or a link',
  () => {
    // The patch read each changed file's old bytes from the real workspace with a synchronous
    // readFileSync: a FIFO there (replaced by a file in the overlay) held the event loop until
    // something wrote to the FIFO — every request, /ping and SIGTERM included, waited forever;
    // a link to /dev/zero would have read until memory ran out.
    test('diff?patch=true answers, the FIFO and the link counted as binary', async () => {
      const ws = mkdtempSync(join(tmpdir(), 'execd-spec-isolated-diff-'))
      try {
        expect(spawnSync('mkfifo', [join(ws, 'p')]).status).toBe(0)
        symlinkSync('/dev/zero', join(ws, 'z'))
        writeFileSync(join(ws, 't.txt'), 'old\n')
        const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
        expect(created.status).toBe(201)
        const sid = (await created.json()).session_id as string
        try {
          const run = await postJson(fx.d, `/v1/isolated/session/${sid}/run`, {
            code: 'rm p z && echo new > p && echo new > z && echo new > t.txt',
          })
          expect((await readSse(run)).at(-1)!.data.type).toBe('execution_complete')
          const res = await fx.d.fetch(`/v1/isolated/session/${sid}/diff?patch=true`)
          expect(res.status).toBe(200)
          const diff = await res.json()
          expect(diff.changes.map((c: { path: string }) => c.path)).toEqual(['p', 't.txt', 'z'].map(n => join(ws, n)))
          expect(diff.patch).toContain('Binary files a/p and b/p differ')
          expect(diff.patch).toContain('Binary files a/z and b/z differ')
          expect(diff.patch).toContain('-old\n+new')
        } finally {
          await fx.d.fetch(`/v1/isolated/session/${sid}`, { method: 'DELETE' })
        }
      } finally {
        rmSync(ws, { recursive: true, force: true })
      }
    }, 30_000)
  },
)

describe.skipIf(!Bun.which('bwrap'))('the diff of an overlay session that wrote many files', () => {
  // The walk of the upper layer was synchronous: the diff of 100 000 new files held the event
  // loop for 3.9 s (an unchanged 1 GiB copy-up, compared byte for byte, 0.8 s). Now every file
  // call is awaited: /ping is answered, again and again, while the diff is still being made.
  test('GET diff: /ping answers while the walk runs', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'execd-spec-isolated-diff-'))
    try {
      const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
      const sid = (await created.json()).session_id as string
      try {
        // Past the cap by a little: the walk stops at 10 001 changes, so more files only made the
        // run longer (60 000: 2 of 4 runs past the test's 60 s at 15 % of a CPU; 12 000: 44–50 s).
        const run = await postJson(fx.d, `/v1/isolated/session/${sid}/run`, {
          code: 'mkdir many && cd many && seq 1 12000 | xargs touch && cd ..',
        })
        expect((await readSse(run)).at(-1)!.data.type).toBe('execution_complete')
        let done = false
        const diff = fx.d.fetch(`/v1/isolated/session/${sid}/diff`).then(async res => {
          done = true
          return res
        })
        // Held behind a synchronous walk, at most the one /ping sent before it started.
        let answered = 0
        while (!done) {
          expect((await fx.d.fetch('/ping')).status).toBe(200)
          if (!done) answered++
        }
        const res = await diff
        expect(res.status).toBe(200)
        const body = await res.json()
        expect(body.truncated).toBe(true)
        expect(body.changes.length).toBe(10_000)
        expect(answered).toBeGreaterThanOrEqual(3)
      } finally {
        await fx.d.fetch(`/v1/isolated/session/${sid}`, { method: 'DELETE' })
      }
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  }, 60_000)
})
