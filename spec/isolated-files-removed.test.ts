/**
 * Files requests in an isolated session as a DELETE removes it. A DELETE waits for no files
 * request, and the sandbox root those requests reach their files through goes with the session:
 * each answer must be a success (done before it went) or the session's 404, never a 500 or a
 * `file not found` for the path the request was making, and the workspace stays as it was.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('isolated-files-removed')
/** Each round races one upload and one replace against the DELETE (main's build: 8 of 50 rounds failed). */
const ROUNDS = 30

const sessionPath = (id: string, rest = '') => `/v1/isolated/session/${id}${rest}`

/** An upload of 1 MiB whose body is sent whole; the request is in the session as the DELETE comes. */
function upload(id: string, path: string): Promise<Response> {
  const form = new FormData()
  form.append('metadata', JSON.stringify({ path }))
  form.append('file', new Blob(['x'.repeat(1 << 20)]))
  return fx.d.fetch(sessionPath(id, '/files/upload'), { method: 'POST', body: form })
}

/** The status, and the code of an error (a success's body is not looked at). */
async function outcome(res: Response): Promise<string> {
  if (res.status < 400) return `${res.status}`
  const body = await res.json()
  return `${res.status} ${body.code}`
}

describe.skipIf(!Bun.which('bwrap'))('files requests in an isolated session as it is deleted', () => {
  test('each answers its success or the session 404, and the workspace is untouched', async () => {
    const ws = mkdtempSync(join(fx.tmp, 'ws-'))
    writeFileSync(join(ws, 'small'), 'hello\n')
    const seen = new Map<string, number>()
    const messages: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: ws, mode: 'overlay' } })
      expect(created.status).toBe(201)
      const id = (await created.json()).session_id as string
      // The view held first, as a client that looked before it wrote.
      expect((await fx.d.fetch(sessionPath(id, `/files/info?path=${join(ws, 'small')}`))).status).toBe(200)
      const asked = [
        upload(id, join(ws, 'up')),
        postJson(fx.d, sessionPath(id, '/files/replace'), { [join(ws, 'small')]: { old: 'hello', new: 'bye' } }),
      ]
      // Spread over the requests' course: the DELETE meets each at another step.
      await Bun.sleep(round % 15)
      const deleted = await fx.d.fetch(sessionPath(id), { method: 'DELETE' })
      expect(deleted.status).toBe(200)
      for (const res of await Promise.all(asked)) {
        const said = await outcome(res.clone())
        seen.set(said, (seen.get(said) ?? 0) + 1)
        if (said.startsWith('404')) messages.push((await res.json()).message)
      }
    }
    const outcomes = [...seen.keys()]
    expect(outcomes.filter(o => o !== '200' && o !== '404 CONTEXT_NOT_FOUND')).toEqual([])
    for (const message of messages) expect(message).toContain('isolated session')
    // What the overlay sessions wrote went with them.
    expect(readdirSync(ws)).toEqual(['small'])
    expect(readFileSync(join(ws, 'small'), 'utf8')).toBe('hello\n')
  }, 120_000)
})
