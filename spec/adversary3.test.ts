/**
 * What the third attacker's pass found: each test fails on the executable before its fix. No
 * timing: a run that must end is read to its end, processes are read from /proc.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, uploadInNewDirectories, rssMiB } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'

const fx = daemonWithDir('adversary3')

/** A process's resident memory, in MiB. */
/** Live pids whose working directory is `dir` (a context's interpreter, found by its cwd). */
const pidsIn = (dir: string): number[] =>
  readdirSync('/proc')
    .filter(p => /^\d+$/.test(p))
    .filter(p => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === dir
      } catch {
        return false
      }
    })
    .map(Number)

describe.skipIf(pythonAvailable !== true)('a context deleted while its dead interpreter is being replaced', () => {
  // After a `kill -9` of the interpreter, the next cell starts a fresh one. A DELETE that came
  // while it started found no interpreter to close and answered 200; the fresh one then ran the
  // cell and lived on, out of every cap (its slot was given back): one python per DELETE.
  test('the fresh interpreter is closed, the cell ends with an error, DELETE answers once it is gone', async () => {
    const dir = mkdtempSync(join(fx.tmp, 'ctx-'))
    const created = await postJson(fx.d, '/code/context', { language: 'python', cwd: dir })
    expect(created.status).toBe(200)
    const id = (await created.json()).id as string
    expect(pidsIn(dir).length).toBe(1)
    // The interpreter kills itself: once this cell has ended, the context knows it is dead.
    const died = await readSse(
      await postJson(fx.d, '/code', {
        code: 'import os; os.kill(os.getpid(), 9)',
        context: { id, language: 'python' },
      }),
    )
    expect(died.map(f => f.data.type)).toContain('error')
    const res = await postJson(fx.d, '/code', { code: 'print("ran")', context: { id, language: 'python' } })
    expect(res.status).toBe(200)
    // `init` is journaled before the turn starts the fresh interpreter: DELETE now lands while it starts.
    let deleting: Promise<Response> | undefined
    const frames = await readSse(res, f => {
      if (f.data.type === 'init') deleting = fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
      return false
    })
    expect((await deleting!).status).toBe(200)
    const types = frames.map(f => f.data.type)
    expect(types.at(-1)).toBe('execution_complete')
    expect(types).toContain('error')
    expect(frames.filter(f => f.data.type === 'stdout')).toEqual([])
    expect((await fx.d.fetch(`/code/contexts/${id}`)).status).toBe(404)
    expect(pidsIn(dir)).toEqual([])
  }, 30_000)
})

describe.skipIf(!Bun.which('prlimit'))('an upload of many small files, each in a new directory', () => {
  // Each staged file holds its directory (and each directory its walk created) open until the
  // request ends, so the fds of one request grew with its parts: 10,000 tiny parts took all
  // 20,000 fds of execd, and every other request, accept included, failed with EMFILE for as
  // long as the client left its body unfinished. The daemon's limit is lowered to 2,048 here so
  // that 1,100 parts cross it (2 fds each).
  test('is refused with a 503 naming the limit before it holds the fd limit, and leaves nothing behind', async () => {
    const limited = await startDaemon()
    try {
      const pid = limited.proc.pid
      expect(spawnSync('prlimit', ['--pid', String(pid), '--nofile=2048:2048']).status).toBe(0)
      const dir = mkdtempSync(join(fx.tmp, 'up-'))
      const res = await uploadInNewDirectories(limited, dir, 1100)
      const body = await res.json()
      expect(body.code).toBe('SERVICE_UNAVAILABLE')
      expect(res.status).toBe(503)
      expect(body.message).toContain('a quarter of the fd limit')
      // All or nothing: no file and no directory of the refused request stays.
      expect(readdirSync(dir)).toEqual([])
      // The fds were given back: a small upload goes through.
      const b = 'adversary3-boundary'
      const one = `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${dir}/one"}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhi\r\n--${b}--\r\n`
      const ok = await limited.fetch('/files/upload', {
        method: 'POST',
        body: one,
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      })
      expect(ok.status).toBe(200)
      expect(readFileSync(join(dir, 'one'), 'utf8')).toBe('hi')
      expect(existsSync(join(dir, 'd0'))).toBe(false)
    } finally {
      await limited.stop()
    }
  }, 60_000)
})

describe('a Jupyter server whose answer never ends', () => {
  // The bridge read each REST answer whole: behind a server streaming without end, execd grew
  // by ~80 MiB/s on a loaded machine (47 -> 403 MiB before /code/languages gave up on it), and
  // went on until the request's 15 s timeout — a fast local server reaches out-of-memory first.
  test('is read no further than its cap: /code/languages answers with execd memory flat', async () => {
    const chunk = new Uint8Array(1 << 20).fill(0x61)
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () =>
        new Response(new ReadableStream({ pull: c => c.enqueue(chunk) }), {
          headers: { 'content-type': 'application/json' },
        }),
    })
    const bridged = await startDaemon({
      args: ['--jupyter-host', `http://127.0.0.1:${server.port}`, '--jupyter-token', 'adversary3'],
    })
    try {
      const before = rssMiB(bridged.proc.pid)
      const res = await bridged.fetch('/code/languages')
      expect(res.status).toBe(200)
      const languages = (await res.json()) as { language: string }[]
      expect(languages.some(l => l.language === 'bash')).toBe(true)
      // A second look goes to the server again (the failure is not cached for long): still flat.
      await (await bridged.fetch('/code/languages')).arrayBuffer()
      expect(rssMiB(bridged.proc.pid) - before).toBeLessThan(96)
    } finally {
      await bridged.stop()
      server.stop(true)
    }
  }, 60_000)
})

describe('an upload of metadata parts that never get their file parts', () => {
  // The metadata parts waiting for their file parts were kept without a bound, and uploads have
  // no size limit by default: 40,000 metadata parts of 4 KiB paths grew execd by 195 MiB,
  // linearly in the body.
  test('is refused with a 413 once their paths pass 16 MiB, execd memory flat', async () => {
    const b = 'adversary3-metadata'
    const path = join(fx.tmp, 'a/'.repeat(2000), 'f')
    const part = new TextEncoder().encode(
      `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ path })}\r\n`,
    )
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 20_000) c.enqueue(part)
        else {
          c.enqueue(new TextEncoder().encode(`--${b}--\r\n`))
          c.close()
        }
      },
    })
    const before = rssMiB(fx.d.proc.pid)
    const res = await fx.d.fetch('/files/upload', {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    })
    const answer = await res.json()
    expect(answer.code).toBe('PAYLOAD_TOO_LARGE')
    expect(res.status).toBe(413)
    expect(answer.message).toContain('send each metadata part just before its file part')
    expect(rssMiB(fx.d.proc.pid) - before).toBeLessThan(64)
    expect(existsSync(join(fx.tmp, 'a'))).toBe(false)
  }, 60_000)
})
