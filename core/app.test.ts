import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { asJsonBody, createApp } from './app'
import { UNAUTHORIZED_BODY } from './auth'
import { resolveConfig, SERVER_OPTIONS } from './config'
import { createLogger } from './log'
import type { Plugin } from './plugin'

const echo: Plugin = {
  name: 'echo',
  routes: () =>
    new Elysia({ name: 'api/echo' })
      .post('/echo', ({ body }) => body, { body: t.Object({ n: t.Number() }) })
      .get('/echo', ({ query }) => query.path, { query: t.Object({ path: t.String() }) }),
}

async function app(token?: string) {
  const config = resolveConfig(SERVER_OPTIONS, token ? { 'access-token': token } : {}, {})
  return (await createApp({ plugins: [echo], runtimes: [], config, log: createLogger('silent') })).app
}

const req = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init)
const post = (path: string, body: string) =>
  req(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } })

describe('auth', () => {
  test('every route, /ping included, answers 401 with the reference body without the token', async () => {
    const a = await app('s3cret')
    for (const path of ['/ping', '/echo?path=x', '/openapi.json', '/docs', '/nope']) {
      const res = await a.handle(req(path))
      expect(res.status).toBe(401)
      expect(await res.text()).toBe(UNAUTHORIZED_BODY)
    }
    const wrong = await a.handle(req('/ping', { headers: { 'X-EXECD-ACCESS-TOKEN': 's3creT' } }))
    expect(wrong.status).toBe(401)
  })

  test('the right token passes, header name in any case', async () => {
    const a = await app('s3cret')
    const res = await a.handle(req('/ping', { headers: { 'x-execd-access-token': 's3cret' } }))
    expect(res.status).toBe(200)
  })
})

describe('responses', () => {
  test('/ping is 200 with Content-Length: 0', async () => {
    const res = await (await app()).handle(req('/ping'))
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
  })

  test('an unknown route is a 404 JSON error', async () => {
    const res = await (await app()).handle(req('/nope'))
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ code: 'NOT_FOUND', message: 'route not found: GET /nope' })
  })

  test('malformed JSON is 400 INVALID_REQUEST_BODY with the reference prefix', async () => {
    const res = await (await app()).handle(post('/echo', '{"n":'))
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toStartWith('error parsing request, MAYBE invalid body format. ')
  })

  test('a wrong type is 400 with the validation prefix and the field', async () => {
    const res = await (await app()).handle(post('/echo', '{"n":"x"}'))
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toStartWith('invalid request, validation error n: ')
  })

  test('a missing query parameter is 400 MISSING_QUERY', async () => {
    const res = await (await app()).handle(req('/echo'))
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ code: 'MISSING_QUERY', message: "missing query parameter 'path'" })
  })

  test('unknown JSON keys are ignored, like the reference', async () => {
    const res = await (await app()).handle(post('/echo', '{"n":1,"extra":true}'))
    expect(res.status).toBe(200)
  })
})

describe('bodies are JSON whatever their Content-Type, as the reference reads them', () => {
  const send = (body: string, type?: string, path = '/echo') =>
    asJsonBody(req(path, { method: 'POST', body, headers: type ? { 'content-type': type } : {} }), ['/raw/'])

  test('JSON sent as form encoding (curl -d), as text or untyped is validated as JSON', async () => {
    const a = await app()
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', undefined]) {
      const res = await a.handle(send('{"n":3}', type))
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ n: 3 })
    }
  })

  test('broken JSON sent that way is a 400 with the reference prefix', async () => {
    const res = await (await app()).handle(send('{"n":', 'application/x-www-form-urlencoded'))
    expect(res.status).toBe(400)
    expect((await res.json()).message).toStartWith('error parsing request, MAYBE invalid body format. ')
  })

  test('multipart, typed bodies and raw prefixes are left as they are', () => {
    expect(send('x', 'multipart/form-data; boundary=b').headers.get('content-type')).toStartWith('multipart/')
    expect(send('x', 'application/octet-stream').headers.get('content-type')).toBe('application/octet-stream')
    expect(send('a=1', 'application/x-www-form-urlencoded', '/raw/x').headers.get('content-type')).toBe(
      'application/x-www-form-urlencoded',
    )
  })
})
