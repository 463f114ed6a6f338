/** The code section's routes in process (app.handle), with the real python runtime. */
import { afterAll, describe, expect, test } from 'bun:test'
import { createApp } from '../../core/app'
import { SERVER_OPTIONS, resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import { python } from '../python'
import { code } from '.'

const config = resolveConfig([...SERVER_OPTIONS, ...code.options!, ...python.options!], {})
const { app, close } = await createApp({ plugins: [code], runtimes: [python], config, log: createLogger('silent') })
const call = (method: string, path: string, body?: unknown) =>
  app.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )

afterAll(() => close())

describe('code routes', () => {
  test('GET /code/languages answers every language a runtime offers, with availability', async () => {
    const languages = await (await call('GET', '/code/languages')).json()
    expect(languages.map((l: { language: string }) => l.language)).toEqual(['python'])
    expect(typeof languages[0].available).toBe('boolean')
  })

  test('GET /code/contexts is [] when there are none', async () => {
    expect(await (await call('GET', '/code/contexts')).json()).toEqual([])
  })

  test('POST /code without code is a 400', async () => {
    const res = await call('POST', '/code', { context: { language: 'python' } })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('INVALID_REQUEST_BODY')
  })

  test('POST /code without a language and without the commands section is 501 NOT_SUPPORTED', async () => {
    const res = await call('POST', '/code', { code: 'echo hi' })
    expect(res.status).toBe(501)
  })

  test('the OpenAPI document lists the code routes under the code tag', async () => {
    const spec = await (await call('GET', '/openapi.json')).json()
    for (const path of [
      '/code',
      '/code/context',
      '/code/contexts',
      '/code/contexts/{contextId}',
      '/code/languages',
      '/code/executions/{executionId}/events',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path)
    }
    expect(spec.paths['/code'].post.tags).toEqual(['code'])
  })
})
