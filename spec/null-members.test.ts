/**
 * A client that writes its unset optional fields as `null` (Python's `json={"cwd": None}`,
 * Jackson, Gson) is answered as if it had left them out, as the reference's Go decoder answers
 * it (a map's null entry as its value's zero); a null where a value is required is still the
 * route's 400. Raw HTTP: the official SDKs leave unset fields out, so none of them sends such a
 * body.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('nulls')

/** The body of a success; a failure throws with its status and body (what it refused, and why). */
const ok = async (res: Response) => {
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${res.status} ${text}`)
  return text
}

describe('null for an optional member reads as the member left out', () => {
  test('POST /command: cwd, background, timeout, uid, gid and envs all null', async () => {
    const res = await postJson(fx.d, '/command', {
      command: 'echo ran',
      cwd: null,
      background: null,
      timeout: null,
      uid: null,
      gid: null,
      envs: null,
    })
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    expect(frames.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['ran'])
    expect(frames.at(-1)!.data.type).toBe('execution_complete')
  })

  test("an envs entry null is set empty, as Go's decoder stores it", async () => {
    const res = await postJson(fx.d, '/command', { command: 'echo "[${A-unset}]"', envs: { A: null } })
    expect(res.status).toBe(200)
    expect((await readSse(res)).filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['[]'])
  })

  test('POST /session, its run, and POST /pty', async () => {
    const session = await postJson(fx.d, '/session', { cwd: null })
    const { session_id } = JSON.parse(await ok(session))
    const run = await postJson(fx.d, `/session/${session_id}/run`, { command: 'echo here', cwd: null, timeout: null })
    expect(run.status).toBe(200)
    expect((await readSse(run)).at(-1)!.data.type).toBe('execution_complete')
    const pty = await postJson(fx.d, '/pty', { cwd: null, command: null })
    expect(pty.status).toBe(201)
    await pty.text()
  })

  test("POST /code/context and POST /code: a context's cwd and id null", async () => {
    const context = await postJson(fx.d, '/code/context', { language: 'javascript', cwd: null })
    expect(JSON.parse(await ok(context)).language).toBe('javascript')
    const run = await postJson(fx.d, '/code', { code: '1 + 1', context: { id: null, language: 'javascript' } })
    expect(run.status).toBe(200)
    const result = (await readSse(run)).find(f => f.data.type === 'result')
    expect(result?.data.results['text/plain']).toBe('2')
  })

  test('POST /directories and /files/permissions: mode, owner and group null in a path map', async () => {
    const dir = join(fx.tmp, 'made')
    await ok(await postJson(fx.d, '/directories', { [dir]: { mode: 700, owner: null, group: null } }))
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    await ok(await postJson(fx.d, '/files/permissions', { [dir]: { mode: 750, owner: null, group: null } }))
    expect(statSync(dir).mode & 0o777).toBe(0o750)
    await ok(await postJson(fx.d, '/files/permissions', { [dir]: { mode: null } }))
    expect(statSync(dir).mode & 0o777).toBe(0o750)
    // A path's entry null: Go's zero Permission, a directory made with the default mode.
    await ok(await postJson(fx.d, '/directories', { [`${dir}/inner`]: null }))
    expect(statSync(`${dir}/inner`).isDirectory()).toBe(true)
  })

  test('POST /files/mv: an item with src_base64 null', async () => {
    const from = join(fx.tmp, 'made-to-move')
    await ok(await postJson(fx.d, '/directories', { [from]: {} }))
    await ok(await postJson(fx.d, '/files/mv', [{ src: from, dest: `${from}-moved`, src_base64: null }]))
    expect(existsSync(`${from}-moved`)).toBe(true)
  })
})

describe('null where a value is required is still a 400', () => {
  const cases: [string, unknown, string][] = [
    ['/command', { command: null }, 'command: Expected string'],
    ['/code', { code: null }, 'code: Expected string'],
    ['/files/replace', { '/x': { old: 'a', new: null } }, 'new: Expected string'],
  ]
  for (const [route, body, says] of cases) {
    test(`POST ${route} ${JSON.stringify(body)}`, async () => {
      const res = await postJson(fx.d, route, body)
      expect(res.status).toBe(400)
      const error = await res.json()
      expect(error.code).toBe('INVALID_REQUEST_BODY')
      expect(error.message).toContain(says)
    })
  }
})
