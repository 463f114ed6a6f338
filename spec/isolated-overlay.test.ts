/**
 * Overlay workspaces of isolated sessions: writes stay in the overlay until commit, diff lists
 * exactly what changed, commit applies it to the real workspace and empties the overlay; what a
 * commit cannot carry (a FIFO, a socket) is left out, never waited on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  chmodSync,
  lstatSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-overlay')
const isolation = () => isolationOf(fx.d)
const stdout = stdoutOf

/** A fresh workspace: a.txt, keep.txt, sub/k.txt. */
function workspace(): string {
  const ws = mkdtempSync(join(fx.tmp, 'ws-'))
  writeFileSync(join(ws, 'a.txt'), 'hi\n')
  writeFileSync(join(ws, 'keep.txt'), 'keep\n')
  mkdirSync(join(ws, 'sub'))
  writeFileSync(join(ws, 'sub', 'k.txt'), 'k\n')
  return ws
}

describe.skipIf(!Bun.which('bwrap'))('overlay workspaces', () => {
  test('commit carries no setuid or setgid bit into the real workspace', async () => {
    // The sandbox's root needs no capability to chmod its own file u+s: committed as it was, a
    // setuid-root program made inside the sandbox ran as root outside it. The bits cannot be
    // given inside any more (the session's seccomp filter, spec/isolated.test.ts); commit still
    // strips them from files (plugins/isolated/ops/commit.ts), should one come another way.
    const ws = workspace()
    const s = await isolation().create({ workspace: { path: ws, mode: 'overlay' } })
    try {
      const made = await s.run(
        'cp /bin/true sx; chmod 6755 sx; mkdir gd; chmod 2775 gd; echo x > a.txt; chmod 4644 a.txt; stat -c %a sx gd a.txt; id -u',
      )
      expect(stdout(made)).toEqual(['755', '755', '644', '0'])
      const commit = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      expect(commit.status).toBe(200)
      expect(statSync(join(ws, 'sx')).mode & 0o7777).toBe(0o755)
      expect(statSync(join(ws, 'a.txt')).mode & 0o7777).toBe(0o644)
      expect(statSync(join(ws, 'gd')).mode & 0o7777).toBe(0o755)
    } finally {
      await s.delete()
    }
  })

  test('capabilities report diff and commit (root, setpriv and overlayfs, as in CI)', async () => {
    const caps = await isolation().capabilities()
    expect(caps.diff_supported).toBe(true)
    expect(caps.commit_supported).toBe(true)
  })

  test('writes stay in the overlay; diff lists exactly the changed paths; commit applies them', async () => {
    const ws = workspace()
    const s = await isolation().create({ workspace: { path: ws, mode: 'overlay' } })
    try {
      const e = await s.run(
        'pwd; echo changed > a.txt; echo new > b.txt; rm -r sub; mkdir nd; echo z > nd/z.txt; ln -s a.txt link; touch keep.txt; cat a.txt',
      )
      expect(stdout(e)).toEqual([ws, 'changed'])
      // The real workspace is untouched.
      expect(readdirSync(ws).sort()).toEqual(['a.txt', 'keep.txt', 'sub'])
      expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('hi\n')

      const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/diff?patch=true`)
      expect(res.status).toBe(200)
      const diff = await res.json()
      const changes = diff.changes.map((c: { path: string; change: string }) => [c.path.slice(ws.length + 1), c.change])
      expect(changes).toEqual([
        ['a.txt', 'modified'],
        ['b.txt', 'added'],
        ['link', 'added'],
        ['nd', 'added'],
        ['nd/z.txt', 'added'],
        ['sub', 'deleted'],
      ])
      const a = diff.changes.find((c: { path: string }) => c.path.endsWith('/a.txt'))
      expect([a.size_before, a.size_after]).toEqual([3, 8])
      expect(diff.patch).toContain('--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-hi\n+changed\n')
      expect(diff.patch).toContain('+++ b/b.txt')

      const commit = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      expect(commit.status).toBe(200)
      const body = await commit.json()
      expect(body.applied.length).toBe(6)
      expect(readdirSync(ws).sort()).toEqual(['a.txt', 'b.txt', 'keep.txt', 'link', 'nd'])
      expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('changed\n')
      expect(readFileSync(join(ws, 'nd', 'z.txt'), 'utf8')).toBe('z\n')
      expect(readlinkSync(join(ws, 'link'))).toBe('a.txt')
      expect(readdirSync(ws).some(n => n.startsWith('.execd-commit-'))).toBe(false)

      // The overlay is empty and the session goes on over the committed workspace.
      const after = await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/diff`)).json()
      expect(after.changes).toEqual([])
      expect(stdout(await s.run('cat a.txt; echo more > c.txt'))).toEqual(['changed'])
      expect(existsSync(join(ws, 'c.txt'))).toBe(false)
    } finally {
      await s.delete()
    }
  })

  test('a uid-switched session writes to the overlay of a workspace open to it, and commits as that uid', async () => {
    const ws = workspace()
    chmodSync(ws, 0o777)
    await isolation().withSession({ workspace: { path: ws, mode: 'overlay' }, uid: 65534, gid: 65534 }, async s => {
      expect(stdout(await s.run('echo mine > mine.txt && id -u'))).toEqual(['65534'])
      expect(existsSync(join(ws, 'mine.txt'))).toBe(false)
      const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      expect((await res.json()).applied.map((c: { path: string }) => c.path)).toEqual([join(ws, 'mine.txt')])
      expect(statSync(join(ws, 'mine.txt')).uid).toBe(65534)
      expect(stdout(await s.run('echo again > again.txt && cat mine.txt'))).toEqual(['mine'])
    })
  })

  test('deleting the session discards the overlay', async () => {
    const ws = workspace()
    await isolation().runOnce('echo gone > a.txt; rm keep.txt', ws, { workspaceMode: 'overlay' })
    expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('hi\n')
    expect(existsSync(join(ws, 'keep.txt'))).toBe(true)
  })

  test('diff and commit of a rw or ro session are a clear 400', async () => {
    const ws = workspace()
    for (const mode of ['rw', 'ro'] as const) {
      await isolation().withSession({ workspace: { path: ws, mode } }, async s => {
        for (const [method, path] of [
          ['GET', 'diff'],
          ['POST', 'commit'],
        ]) {
          const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/${path}`, { method })
          expect(res.status).toBe(400)
          const body = await res.json()
          expect(body.code).toBe('INVALID_REQUEST_BODY')
          expect(body.message).toContain(`workspace is ${mode}`)
        }
      })
    }
    const unknown = await postJson(fx.d, '/v1/isolated/session/nope/commit', {})
    expect(unknown.status).toBe(404)
  })
})

describe.skipIf(!Bun.which('bwrap'))('commit of an overlay that holds a FIFO and a socket', () => {
  // The commit copied every non-directory with copyFile: a FIFO the session made blocked a
  // thread of the pool for good (the commit never answered, its session stopped; four such
  // commits stall every file call of execd), a socket failed the commit.
  let d: Daemon
  beforeAll(async () => {
    d = await startDaemon()
  })
  afterAll(async () => {
    await d?.stop()
  })

  test('carries over the file and the FIFO (as a FIFO), leaves the socket out of the workspace and names it `skipped`', async () => {
    const ws = mkdtempSync(join(fx.tmp, 'fifo-ws-'))
    const created = await postJson(d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
    expect(created.status).toBe(201)
    const id = (await created.json()).session_id as string
    try {
      const run = await readSse(
        await postJson(d, `/v1/isolated/session/${id}/run`, {
          code: `mkfifo fifo && echo kept > kept.txt && python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')" && ls`,
        }),
      )
      expect(run.at(-1)?.data.type).toBe('execution_complete')
      // On the build before, the FIFO and the socket were both `other`, and the commit's answer
      // named the socket nowhere (the emptied overlay dropped it).
      const typed = (list: { path: string; type: string }[]) => list.map(c => [c.path, c.type])
      const diff = await (await d.fetch(`/v1/isolated/session/${id}/diff`)).json()
      expect(typed(diff.changes)).toEqual([
        [join(ws, 'fifo'), 'fifo'],
        [join(ws, 'kept.txt'), 'file'],
        [join(ws, 'sock'), 'socket'],
      ])
      const res = await d.fetch(`/v1/isolated/session/${id}/commit`, { method: 'POST' })
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(body.applied.map((c: { path: string }) => c.path)).toEqual([join(ws, 'fifo'), join(ws, 'kept.txt')])
      expect(typed(body.skipped)).toEqual([[join(ws, 'sock'), 'socket']])
      expect(readdirSync(ws).sort()).toEqual(['fifo', 'kept.txt'])
      expect(lstatSync(join(ws, 'fifo')).isFIFO()).toBe(true)
      expect(readFileSync(join(ws, 'kept.txt'), 'utf8')).toBe('kept\n')
      // The session goes on over its emptied overlay, the FIFO now the workspace's.
      const again = await readSse(await postJson(d, `/v1/isolated/session/${id}/run`, { code: 'ls' }))
      expect(again.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['fifo', 'kept.txt'])
    } finally {
      await d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
    expect(lstatSync(ws).isDirectory()).toBe(true)
  }, 60_000)
})
