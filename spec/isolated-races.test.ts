/**
 * Isolated sessions raced against themselves: a DELETE, a run, a diff or an upload while a
 * commit of the session is being applied. A commit is all or nothing, whatever arrives
 * meanwhile, and what arrives is neither lost nor answered with one of execd's own paths.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readSse, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-races')
const isolation = () => isolationOf(fx.d)
const FILES = 300
/** Each race is run this many times: each failed on its first run or two before its fix. */
const RUNS = 6

/** The session's overlay holds FILES new files once this has run. */
const MAKE_FILES = `for i in $(seq ${FILES}); do echo $i > f$i; done; echo made`

const made = (ws: string) => readdirSync(ws).filter(n => /^f\d+$/.test(n)).length
/** A commit is staging into the workspace: its temp entries are there. */
const staging = (ws: string) => readdirSync(ws).some(n => n.startsWith('.execd-commit-'))
const sessionPath = (id: string, rest = '') => `/v1/isolated/session/${id}${rest}`

/** An overlay session over a fresh workspace, with FILES files in its overlay. */
async function sessionWithChanges() {
  const ws = mkdtempSync(join(fx.tmp, 'ws-'))
  const s = await isolation().create({ workspace: { path: ws, mode: 'overlay' } })
  expect(stdoutOf(await s.run(MAKE_FILES))).toEqual(['made'])
  return { ws, id: s.sessionId }
}

/**
 * Starts a commit of the session and waits until it is staging files into the workspace.
 * (Wrapped: an async function returning the bare promise would wait for it.)
 */
async function commitUnderway(id: string, ws: string): Promise<{ commit: Promise<Response> }> {
  const commit = fx.d.fetch(sessionPath(id, '/commit'), { method: 'POST' })
  let answered = false
  void commit.then(() => (answered = true))
  await waitFor('the commit to stage', () => answered || staging(ws))
  return { commit }
}

/** The commit's answer: whole (every file in the workspace, no temp entry left) and no path of execd's. */
async function expectWholeCommit(commit: Promise<Response>, ws: string): Promise<void> {
  const res = await commit
  const body = await res.json()
  expect(JSON.stringify(body)).not.toContain('execd-isolated')
  expect({ status: res.status, files: made(ws), staging: staging(ws) }).toEqual({
    status: 200,
    files: FILES,
    staging: false,
  })
}

const multipart = (path: string, content: string) =>
  `--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ path })}\r\n` +
  `--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${content}\r\n--b--\r\n`
const upload = (id: string, body: BodyInit) =>
  fx.d.fetch(sessionPath(id, '/files/upload'), {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
    body,
  })

describe.skipIf(!Bun.which('bwrap'))('isolated sessions under races', () => {
  test('a DELETE during a commit waits for it: the commit is whole, the DELETE answers 200', async () => {
    for (let i = 0; i < RUNS; i++) {
      const { ws, id } = await sessionWithChanges()
      const { commit } = await commitUnderway(id, ws)
      const del = await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
      expect({ i, del: del.status }).toEqual({ i, del: 200 })
      await expectWholeCommit(commit, ws)
      expect((await fx.d.fetch(sessionPath(id))).status).toBe(404)
    }
  }, 120_000)

  test('a run during a commit runs once the commit is done, in the restarted shell', async () => {
    for (let i = 0; i < RUNS; i++) {
      const { ws, id } = await sessionWithChanges()
      const { commit } = await commitUnderway(id, ws)
      const run = await fx.d.fetch(sessionPath(id, '/run'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'ls | grep -c "^f"' }),
      })
      const frames = run.status === 200 ? await readSse(run) : []
      const out = frames.filter(f => f.data?.type === 'stdout').map(f => String(f.data?.text).trim())
      expect({ i, status: run.status, out }).toEqual({ i, status: 200, out: [String(FILES)] })
      await expectWholeCommit(commit, ws)
      await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
    }
  }, 120_000)

  test('a diff during a commit answers once the commit is done: nothing is left to commit', async () => {
    for (let i = 0; i < RUNS; i++) {
      const { ws, id } = await sessionWithChanges()
      const { commit } = await commitUnderway(id, ws)
      const res = await fx.d.fetch(sessionPath(id, '/diff'))
      const body = await res.json()
      expect({ i, status: res.status, changes: body.changes?.length ?? body }).toEqual({ i, status: 200, changes: 0 })
      await expectWholeCommit(commit, ws)
      await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
    }
  }, 120_000)

  test('an upload during a commit lands in the restarted session, none is lost', async () => {
    for (let i = 0; i < RUNS; i++) {
      const { ws, id } = await sessionWithChanges()
      const { commit } = await commitUnderway(id, ws)
      const up = await upload(id, multipart(join(ws, 'up.txt'), `upload ${i}`))
      expect({ i, status: up.status, body: await up.text() }).toEqual({ i, status: 200, body: '' })
      await expectWholeCommit(commit, ws)
      // Not committed (it came after the commit began), and not lost: the session has it.
      expect(existsSync(join(ws, 'up.txt'))).toBe(false)
      const read = await fx.d.fetch(sessionPath(id, `/files/download?path=${encodeURIComponent(join(ws, 'up.txt'))}`))
      expect({ i, status: read.status, text: await read.text() }).toEqual({ i, status: 200, text: `upload ${i}` })
      await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
    }
  }, 120_000)

  test('a commit while an upload is in progress is refused with 400; the upload and a later commit go through', async () => {
    const { ws, id } = await sessionWithChanges()
    let send!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: c => void (send = c) })
    const text = multipart(join(ws, 'slow.txt'), 'slow upload')
    const cut = text.indexOf('slow upload') + 4
    send.enqueue(new TextEncoder().encode(text.slice(0, cut)))
    const up = upload(id, body)
    // Its bytes so far are in a temp file beside slow.txt, in the session's view.
    await waitFor('the upload to begin', async () => {
      const res = await fx.d.fetch(sessionPath(id, `/directories/list?path=${encodeURIComponent(ws)}`))
      return (await res.text()).includes('.slow.txt')
    })
    const refused = await fx.d.fetch(sessionPath(id, '/commit'), { method: 'POST' })
    expect(refused.status).toBe(400)
    const why = await refused.json()
    expect(why.code).toBe('INVALID_REQUEST_BODY')
    expect(why.message).toContain('upload')
    expect(made(ws)).toBe(0)
    send.enqueue(new TextEncoder().encode(text.slice(cut)))
    send.close()
    expect((await up).status).toBe(200)
    const res = await fx.d.fetch(sessionPath(id, '/commit'), { method: 'POST' })
    expect(res.status).toBe(200)
    expect(readFileSync(join(ws, 'slow.txt'), 'utf8')).toBe('slow upload')
    expect(made(ws)).toBe(FILES)
    await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
  })

  test('an upload slower than the idle timeout holds the session: neither is removed under it', async () => {
    const ws = mkdtempSync(join(fx.tmp, 'ws-'))
    const s = await isolation().create({ workspace: { path: ws, mode: 'overlay' }, idle_timeout_seconds: 1 })
    const enc = new TextEncoder()
    let send!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: c => void (send = c) })
    send.enqueue(enc.encode(multipart(join(ws, 'slow.txt'), 'slow').replace(/\r\n--b--\r\n$/, '')))
    const up = upload(s.sessionId, body)
    // Three idle timeouts' worth of upload (the only waits here: the bytes must come slowly).
    for (let i = 0; i < 6; i++) {
      await Bun.sleep(500)
      send.enqueue(enc.encode('.'))
    }
    send.enqueue(enc.encode('\r\n--b--\r\n'))
    send.close()
    const res = await up
    expect({ status: res.status, body: await res.text() }).toEqual({ status: 200, body: '' })
    const read = await fx.d.fetch(
      sessionPath(s.sessionId, `/files/download?path=${encodeURIComponent(join(ws, 'slow.txt'))}`),
    )
    expect({ status: read.status, text: await read.text() }).toEqual({ status: 200, text: 'slow......' })
    await s.delete()
  })
})
