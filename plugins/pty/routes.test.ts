import { afterAll, describe, expect, test } from 'bun:test'
import { createApp } from '../../core/app'
import { resolveConfig, SERVER_OPTIONS } from '../../core/config'
import { createLogger } from '../../core/log'
import { pty } from '.'

const { app, close } = await createApp({
  plugins: [pty],
  runtimes: [],
  config: resolveConfig(SERVER_OPTIONS, {}, {}),
  log: createLogger('silent'),
})
afterAll(() => close())

const call = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init))
const create = (body?: unknown) =>
  call(
    '/pty',
    body === undefined
      ? { method: 'POST' }
      : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
  )

describe('/pty routes', () => {
  test('create answers 201 with a session id, with or without a body', async () => {
    for (const res of [await create(), await create({ cwd: '/tmp', command: 'true' })]) {
      expect(res.status).toBe(201)
      expect((await res.json()).session_id).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  test('status of a new session: not running, nothing produced', async () => {
    const { session_id } = await (await create()).json()
    const res = await call(`/pty/${session_id}`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`{"session_id":"${session_id}","running":false,"output_offset":0}`)
  })

  test('a missing cwd is a 400 with the reference prefix', async () => {
    const res = await create({ cwd: '/no/such/dir' })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toStartWith('error creating pty session: ')
  })

  test('delete answers 200 once, then 404 CONTEXT_NOT_FOUND', async () => {
    const { session_id } = await (await create()).json()
    expect((await call(`/pty/${session_id}`, { method: 'DELETE' })).status).toBe(200)
    const res = await call(`/pty/${session_id}`, { method: 'DELETE' })
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ code: 'CONTEXT_NOT_FOUND', message: `pty session ${session_id} not found` })
  })

  test('the socket route answers 404 JSON for an unknown session and 400 for a plain GET', async () => {
    const unknown = await call('/pty/nope/ws')
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).code).toBe('CONTEXT_NOT_FOUND')
    const { session_id } = await (await create()).json()
    const plain = await call(`/pty/${session_id}/ws`)
    expect(plain.status).toBe(400)
    expect((await plain.json()).code).toBe('INVALID_REQUEST_BODY')
  })
})
