import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { createApp, openSection } from './app'
import { UNAUTHORIZED_BODY } from './auth'
import { resolveConfig, SERVER_OPTIONS } from './config'
import { isJsonBody } from './front-door'
import { createLogger } from './log'
import type { Plugin, Section } from './plugin'
import { ServiceKey } from './registry'

const echo: Plugin = {
  name: 'echo',
  open: () => ({
    ops: {},
    routes: () =>
      new Elysia({ name: 'api/echo' })
        .post('/echo', ({ body }) => body, { body: t.Object({ n: t.Number() }) })
        .get('/echo', ({ query }) => query.path, { query: t.Object({ path: t.String() }) }),
  }),
}

const built = (token?: string) => {
  const config = resolveConfig(SERVER_OPTIONS, token ? { 'access-token': token } : {}, {})
  return createApp({ plugins: [echo], runtimes: [], config, log: createLogger('silent') })
}
const app = async (token?: string) => (await built(token)).app
/** The front door as `serve` hands it to Bun.serve. */
const front = async (token?: string) => (await built(token)).fetch

const req = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init)
const post = (path: string, body: string) =>
  req(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } })

describe('auth', () => {
  test('every route, /ping included, answers 401 with the reference body without the token', async () => {
    const a = await app('s3cret')
    for (const path of ['/ping', '/echo?path=x', '/openapi.json', '/docs/', '/docs/openapi.json', '/nope']) {
      const res = await a.handle(req(path))
      expect(res.status).toBe(401)
      expect(await res.text()).toBe(UNAUTHORIZED_BODY)
    }
    const wrong = await a.handle(req('/ping', { headers: { 'X-EXECD-ACCESS-TOKEN': 's3creT' } }))
    expect(wrong.status).toBe(401)
  })

  test("the explorer's static files load without the token, through the front door too", async () => {
    const { app: a, fetch } = await built('s3cret')
    for (const path of ['/docs', '/docs/explorer.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
      expect((await a.handle(req(path))).status, path).toBe(200)
      expect((await fetch(req(path))).status, path).toBe(200)
    }
    // Only GETs of those exact files: anything else still needs the token.
    expect((await fetch(req('/docs', { method: 'POST' }))).status).toBe(401)
    expect((await fetch(req('/openapi.json'))).status).toBe(401)
  })

  test('the right token passes, header name in any case', async () => {
    const a = await app('s3cret')
    const res = await a.handle(req('/ping', { headers: { 'x-execd-access-token': 's3cret' } }))
    expect(res.status).toBe(200)
  })

  test('only the token itself passes: not a prefix, an extension, a case or an accent away', async () => {
    const { app: a, fetch } = await built('s3cret-tøken')
    for (const given of [
      '',
      's3cret',
      's3cret-tøke',
      's3cret-tøkenn',
      'S3cret-tøken',
      's3cret-token',
      's3cret-tøkex',
    ]) {
      const headers = { 'X-EXECD-ACCESS-TOKEN': given }
      expect((await a.handle(req('/ping', { headers }))).status, given).toBe(401)
      expect((await fetch(req('/ping', { headers }))).status, given).toBe(401)
    }
    const headers = { 'X-EXECD-ACCESS-TOKEN': 's3cret-tøken' }
    expect((await a.handle(req('/ping', { headers }))).status).toBe(200)
    expect((await fetch(req('/ping', { headers }))).status).toBe(200)
  })
})

describe('responses', () => {
  test('the front door answers /ping there and then, a Response rather than a promise of one', async () => {
    // Bun sends a Response the fetch handler returns at once; a promise costs it a reaction
    // and a turn of the microtask queue on every request.
    const fetch = await front('s3cret')
    const res = fetch(req('/ping', { headers: { 'X-EXECD-ACCESS-TOKEN': 's3cret' } }))
    expect(res).toBeInstanceOf(Response)
    expect((res as Response).status).toBe(200)
  })

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
  // As Bun.serve hands requests over: with the Host header browsers and clients send.
  const send = (body: string, type?: string, path = '/echo') =>
    req(path, { method: 'POST', body, headers: { host: 'localhost', ...(type ? { 'content-type': type } : {}) } })

  test('JSON sent as form encoding (curl -d), as text or untyped is validated as JSON', async () => {
    const handle = await front()
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', undefined]) {
      const res = await handle(send('{"n":3}', type))
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ n: 3 })
    }
  })

  test('broken JSON sent that way is a 400 with the reference prefix', async () => {
    const res = await (await front())(send('{"n":', 'application/x-www-form-urlencoded'))
    expect(res.status).toBe(400)
    expect((await res.json()).message).toStartWith('error parsing request, MAYBE invalid body format. ')
  })

  test('a route that declares a JSON body reads any Content-Type as JSON, malformed ones refused', async () => {
    const handle = await front()
    const ok = await handle(send('{"n":3}', 'application/xml'))
    expect([ok.status, await ok.json()]).toEqual([200, { n: 3 }])
    const bad = await handle(send('{"n":', 'application/octet-stream'))
    expect(bad.status).toBe(400)
    expect((await bad.json()).code).toBe('INVALID_REQUEST_BODY')
    expect(isJsonBody(send('x', 'application/octet-stream', '/raw/x'), ['/raw/'], () => true)).toBe(false)
  })

  test('multipart, typed bodies and raw prefixes are not read as JSON', () => {
    expect(isJsonBody(send('x', 'multipart/form-data; boundary=b'), ['/raw/'])).toBe(false)
    expect(isJsonBody(send('x', 'application/octet-stream'), ['/raw/'])).toBe(false)
    expect(isJsonBody(send('a=1', 'application/x-www-form-urlencoded', '/raw/x'), ['/raw/'])).toBe(false)
    expect(isJsonBody(send('{}', 'application/json; charset=utf-8'), ['/raw/'])).toBe(true)
  })
})

describe('the front door', () => {
  test('the token is checked before the body is read, and the connection is closed', async () => {
    let pulled = false
    const body = new ReadableStream(
      {
        pull: c => {
          pulled = true
          c.close()
        },
      },
      { highWaterMark: 0 },
    )
    const res = await (await front('s3cret'))(req('/echo', { method: 'POST', body, headers: { host: 'localhost' } }))
    expect(res.status).toBe(401)
    expect(res.headers.get('connection')).toBe('close')
    expect(pulled).toBe(false)
  })
})

describe('a section owns its instance', () => {
  /** A section whose every opening is a new counter; closing it is recorded. */
  const closed: number[] = []
  let opened = 0
  const counter: Section<{ n: number }> = {
    name: 'counter',
    open: () => {
      const ops = { n: ++opened }
      return {
        ops,
        routes: () => new Elysia({ name: 'api/counter' }).get('/counter', () => String(ops.n)),
        close: () => void closed.push(ops.n),
      }
    },
  }
  const config = resolveConfig(SERVER_OPTIONS, {}, {})
  const log = createLogger('silent')

  test('each app opens its own instance, serves it, and closes it', async () => {
    const a = await createApp({ plugins: [counter], runtimes: [], config, log })
    const b = await createApp({ plugins: [counter], runtimes: [], config, log })
    expect(a.sections.get(counter).ops).not.toBe(b.sections.get(counter).ops)
    const served = async (app: typeof a) => (await app.app.handle(req('/counter'))).text()
    expect([await served(a), await served(b)]).toEqual([
      String(a.sections.get(counter).ops.n),
      String(b.sections.get(counter).ops.n),
    ])
    await a.close()
    expect(closed).toEqual([a.sections.get(counter).ops.n])
    await b.close()
  })

  test('a CLI verb opens one section the same way, without routes', async () => {
    const { ops, close } = await openSection(counter, config)
    expect(ops.n).toBeGreaterThan(0)
    await close()
    expect(closed).toContain(ops.n)
  })

  test('a section that is not opened is named', async () => {
    const { sections } = await createApp({ plugins: [], runtimes: [], config, log })
    expect(() => sections.get(counter)).toThrow('section counter is not opened')
  })
})

describe('routes built lazily (serve)', () => {
  test('GET /ping through the front door is answered before any group is built', async () => {
    const config = resolveConfig(SERVER_OPTIONS, { 'access-token': 's3cret' }, {})
    const built = await createApp(
      { plugins: [echo], runtimes: [], config, log: createLogger('silent') },
      { lazy: true },
    )
    const token = { headers: { 'X-EXECD-ACCESS-TOKEN': 's3cret' } }
    expect((await built.fetch(req('/ping', token))).status).toBe(200)
    // The core group (/openapi.json, /capabilities, /docs) would have loaded Elysia for nothing.
    expect(built.app.routes).toEqual([])
    // Any other request under a group still waits for that group's build.
    expect(await (await built.fetch(req('/echo?path=x', token))).text()).toBe('x')
    expect(built.app.routes.map(r => r.path)).toEqual(['/echo', '/echo'])
    await built.close()
  })
})

describe('a section that opens late (serve)', () => {
  const log = createLogger('silent')
  const config = (env: Record<string, string> = {}) =>
    resolveConfig(
      [...SERVER_OPTIONS, { flag: 'late-max', env: 'LATE_MAX', description: 'a limit', int: true }],
      {},
      env,
    )

  /** Records what happened in order; `provider` offers a service that `late` uses when it opens. */
  const made = () => {
    const events: string[] = []
    const provider: Section<object> = {
      name: 'provider',
      opensLate: true,
      open: ctx => {
        events.push('open provider')
        ctx.registry.provide(SERVICE, 'from provider')
        return { ops: {}, routes: () => new Elysia({ name: 'api/provider' }).get('/provider', () => 'p') }
      },
    }
    const late: Section<object> = {
      name: 'late',
      opensLate: true,
      check: c => {
        events.push('check late')
        c.int('late-max', 1)
      },
      open: async ctx => {
        await Bun.sleep(0)
        events.push(`open late (${ctx.registry.get(SERVICE)})`)
        return {
          ops: {},
          routes: () => new Elysia({ name: 'api/late' }).get('/late', () => 'opened'),
          close: () => void events.push('close late'),
        }
      },
    }
    return { events, plugins: [provider, late] }
  }

  test('its check runs before the app exists, its open only once a request or loadAll needs it', async () => {
    const { events, plugins } = made()
    const built = await createApp({ plugins, runtimes: [], config: config(), log }, { lazy: true })
    expect(events).toEqual(['check late'])
    // The first request under it waits for it (and for the sections before it), never a 404.
    const res = await built.app.handle(req('/late'))
    expect(await res.text()).toBe('opened')
    expect(events).toEqual(['check late', 'open provider', 'open late (from provider)'])
    await built.loadAll()
    await built.close()
    expect(events.at(-1)).toBe('close late')
  })

  test('a setting its check refuses ends the start: createApp throws, nothing is opened', async () => {
    const { events, plugins } = made()
    const start = createApp({ plugins, runtimes: [], config: config({ LATE_MAX: 'many' }), log }, { lazy: true })
    expect(start).rejects.toThrow("option --late-max (LATE_MAX) must be a non-negative integer, got 'many'")
    await start.catch(() => {})
    expect(events).toEqual(['check late'])
  })

  test('without lazy (tests, CLI verbs) it opens at once, as any section', async () => {
    const { events, plugins } = made()
    const built = await createApp({ plugins, runtimes: [], config: config(), log })
    expect(events).toEqual(['check late', 'open provider', 'open late (from provider)'])
    await built.close()
  })

  test('close during its opening waits for it and closes it', async () => {
    const { events, plugins } = made()
    const built = await createApp({ plugins, runtimes: [], config: config(), log }, { lazy: true })
    const first = built.app.handle(req('/late'))
    await built.close()
    expect(events.at(-1)).toBe('close late')
    await first
  })

  test('after close nothing opens: a late request fails instead of starting a section', async () => {
    const { events, plugins } = made()
    const built = await createApp({ plugins, runtimes: [], config: config(), log }, { lazy: true })
    await built.close()
    await built.loadAll().catch(() => {})
    expect(events).toEqual(['check late'])
  })
})

const SERVICE = new ServiceKey<string>('test service')

test('refusals at a limit are logged as one warning a second, not one line per request', async () => {
  const lines: string[] = []
  const full: Plugin = {
    name: 'full',
    open: () => ({
      ops: {},
      routes: () =>
        new Elysia({ name: 'api/full' }).get('/full', () => {
          throw Object.assign(new Error('open: too many open files'), { code: 'EMFILE' })
        }),
    }),
  }
  const config = resolveConfig(SERVER_OPTIONS, {}, {})
  const log = createLogger('info', {}, l => lines.push(l))
  const { app: a } = await createApp({ plugins: [full], runtimes: [], config, log })
  for (let i = 0; i < 20; i++) expect((await a.handle(req('/full'))).status).toBe(503)
  const refused = lines.filter(l => l.includes('"request refused"'))
  expect(refused.length).toBe(1)
  expect(JSON.parse(refused[0] ?? '{}')).toMatchObject({ level: 'warn', skipped: 0 })
  expect(lines.filter(l => l.includes('"request failed"'))).toEqual([])
})
