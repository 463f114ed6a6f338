/**
 * execd listens before its routes are built: each section's routes are built on the first
 * request under its prefixes, or just after listening (core/app.ts). A request sent the
 * instant the port opens, to any section, must get the answer it would get later: never a 404,
 * a failure or a body read the wrong way. Each case starts its own daemon and sends its request
 * as its first one, retried only while the connection is refused.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSse, startDaemon, stdoutJoined, type Daemon } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-start-'))
const file = join(dir, 'f.txt')
writeFileSync(file, 'hello')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A daemon not yet listening, and its first request sent as soon as the port accepts it. */
async function first(path: string, init: RequestInit = {}): Promise<{ d: Daemon; res: Response }> {
  const d = await startDaemon({ waitForPing: false })
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      return { d, res: await d.fetch(path, init) }
    } catch (err) {
      // Only a refused connection (the port not yet open) is tried again.
      if (d.proc.exitCode !== null) throw new Error(`execd exited early (${d.proc.exitCode}): ${d.logs()}`)
      if (Date.now() > deadline) throw err
      await Bun.sleep(1)
    }
  }
}

/** Runs `check` on the first answer of a fresh daemon, then stops it. */
async function onFirst(path: string, init: RequestInit, check: (res: Response, d: Daemon) => Promise<void>) {
  const { d, res } = await first(path, init)
  try {
    await check(res, d)
  } finally {
    await d.stop()
  }
}

const post = (body: string, type = 'application/json'): RequestInit => ({
  method: 'POST',
  body,
  headers: { 'content-type': type },
})

describe('the first request, sent the instant the port opens, is answered right', () => {
  test('/ping', () =>
    onFirst('/ping', {}, async res => {
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('')
    }))

  test('an unknown route: the 404 of the contract', () =>
    onFirst('/nope', {}, async res => {
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ code: 'NOT_FOUND', message: 'route not found: GET /nope' })
    }))

  test('a wrong method under a section: its own 404', () =>
    onFirst('/metrics', { method: 'DELETE' }, async res => {
      expect(res.status).toBe(404)
      expect((await res.json()).code).toBe('NOT_FOUND')
    }))

  test('core: /capabilities', () =>
    onFirst('/capabilities', {}, async res => {
      expect(res.status).toBe(200)
      expect((await res.json()).map((c: { name: string }) => c.name)).toContain('bash')
    }))

  test('core: /openapi.json is the committed document, every section built for it', () =>
    onFirst('/openapi.json', {}, async res => {
      expect(res.status).toBe(200)
      const served = JSON.stringify(await res.json(), null, 2) + '\n'
      expect(served).toBe(await Bun.file(join(import.meta.dir, 'openapi.json')).text())
    }))

  test('metrics', () =>
    onFirst('/metrics', {}, async res => {
      expect(res.status).toBe(200)
      expect((await res.json()).cpu_count).toBeGreaterThan(0)
    }))

  test('files: a query is validated and answered', () =>
    onFirst(`/files/info?path=${encodeURIComponent(file)}`, {}, async res => {
      expect(res.status).toBe(200)
      expect((await res.json())[file].size).toBe(5)
    }))

  test('files: a JSON body sent as form encoding is read as JSON (the route declares it)', () =>
    onFirst(
      '/directories',
      post(JSON.stringify({ [join(dir, 'made')]: { mode: 755 } }), 'application/x-www-form-urlencoded'),
      async res => {
        expect(res.status).toBe(200)
        expect(await Bun.file(join(dir, 'made')).exists()).toBe(false) // a directory, not a file
        expect(Bun.spawnSync(['test', '-d', join(dir, 'made')]).exitCode).toBe(0)
      },
    ))

  test('command: a body of the wrong type is the contract validation error', () =>
    onFirst('/command', post(JSON.stringify({ command: 5 })), async res => {
      expect(res.status).toBe(400)
      expect((await res.json()).message).toStartWith('invalid request, validation error command: ')
    }))

  test('command: a foreground command streams to its end', () =>
    onFirst('/command', post(JSON.stringify({ command: 'echo started' })), async res => {
      expect(res.status).toBe(200)
      const frames = await readSse(res)
      expect(stdoutJoined(frames)).toContain('started')
      expect(frames.at(-1)?.data.type).toBe('execution_complete')
    }))

  test('command: broken JSON is the contract 400', () =>
    onFirst('/command', post('{"command":'), async res => {
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('INVALID_REQUEST_BODY')
    }))

  test('session: created from a body typed text/plain', () =>
    onFirst('/session', post(JSON.stringify({ cwd: dir }), 'text/plain'), async (res, d) => {
      expect(res.status).toBe(200)
      const { session_id } = await res.json()
      expect(typeof session_id).toBe('string')
      expect((await d.fetch(`/session/${session_id}`, { method: 'DELETE' })).status).toBe(200)
    }))

  test('pty: an unknown terminal is its 404, not a missing route', () =>
    onFirst('/pty/nope', {}, async res => {
      expect(res.status).toBe(404)
      expect((await res.json()).message).not.toStartWith('route not found')
    }))

  test('code: the languages', () =>
    onFirst('/code/languages', {}, async res => {
      expect(res.status).toBe(200)
      expect((await res.json()).map((l: { language: string }) => l.language)).toContain('python')
    }))

  test('isolated: its capabilities', () =>
    onFirst('/v1/isolated/capabilities', {}, async res => {
      expect(res.status).toBe(200)
      expect(typeof (await res.json())).toBe('object')
    }))

  test('proxy: relayed to a local server', async () => {
    const target = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: req => new Response(new URL(req.url).pathname) })
    try {
      await onFirst(`/proxy/${target.port}/here`, {}, async res => {
        expect(res.status).toBe(200)
        expect(await res.text()).toBe('/here')
      })
    } finally {
      target.stop(true)
    }
  })

  test('without the token: 401 before any section is built for it', async () => {
    const { d, res } = await first('/metrics', { headers: { 'X-EXECD-ACCESS-TOKEN': 'wrong' } })
    try {
      expect(res.status).toBe(401)
    } finally {
      await d.stop()
    }
  })

  test('every section at once, on the first connections of one daemon', async () => {
    const { d, res } = await first('/files/info?path=' + encodeURIComponent(file))
    try {
      const [metrics, code, caps, nope] = await Promise.all([
        d.fetch('/metrics'),
        d.fetch('/code/languages'),
        d.fetch('/v1/isolated/capabilities'),
        d.fetch('/nope'),
      ])
      expect([res.status, metrics.status, code.status, caps.status, nope.status]).toEqual([200, 200, 200, 200, 404])
    } finally {
      await d.stop()
    }
  })
})
