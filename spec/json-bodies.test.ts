/**
 * JSON bodies are checked before any route (issues 17.1, 10.14/17.4): too deep is a 400 on
 * every JSON route without costing the daemon a stack or hundreds of MiB, and a present body
 * that is not exactly one JSON value of the route's type is a 400.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { postJson, readSse, stdoutJoined } from './harness'
import { daemonAlone } from './kit/daemon-dir'

let sessionId: string
const fx = daemonAlone()
beforeAll(async () => {
  sessionId = (await (await postJson(fx.d, '/session', {})).json()).session_id
})

const DEPTH = 10_000
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH)
const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH)

const expectTooDeep = async (res: Response) => {
  expect(res.status).toBe(400)
  const body = await res.json()
  expect(body.code).toBe('INVALID_REQUEST_BODY')
  expect(body.message).toContain('nested deeper than 64')
}

describe('deeply nested JSON', () => {
  const routes = [
    '/command',
    '/session',
    '/pty',
    '/session/{id}/run',
    '/code',
    '/code/context',
    '/files/mv',
    '/files/replace',
    '/files/permissions',
    '/directories',
  ]
  for (const route of routes) {
    test(`${route}: 10,000 levels in a typed field is a 400, not a 500`, async () => {
      const body = route === '/files/mv' ? `[{"src":${deepArray},"dest":"x"}]` : `{"command":${deepArray}}`
      await expectTooDeep(await postJson(fx.d, route.replace('{id}', sessionId), body))
    })
  }

  test('a deep value in an untyped field (envs) is a 400 too', async () => {
    await expectTooDeep(await postJson(fx.d, '/command', `{"command":"true","envs":${deepObject}}`))
  })

  test('64 levels are accepted; brackets inside strings do not count', async () => {
    const ok = await postJson(
      fx.d,
      '/command',
      `{"command":"echo '${'['.repeat(200)}'","envs":{"A":"1"},"x":${'['.repeat(62)}${']'.repeat(62)}}`,
    )
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('execution_complete')
  })

  test('/ping answers while deep bodies are being refused', async () => {
    const big = `{"command":"true","envs":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}`
    const refusing = Array.from({ length: 4 }, () => postJson(fx.d, '/command', big).then(r => r.status))
    const ping = await fx.d.fetch('/ping', { signal: AbortSignal.timeout(2000) })
    expect(ping.status).toBe(200)
    expect(await Promise.all(refusing)).toEqual([400, 400, 400, 400])
  })
})

describe('JSON holding many members and elements', () => {
  const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(',')}}`
  const many = keys(1_000_000)

  const expectTooMany = async (res: Response) => {
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('INVALID_REQUEST_BODY')
    expect(body.message).toContain('more than 100000 members and elements')
  }

  // Main's build parsed them all on the event loop: a million keys in an unknown field were a
  // 4 s stall and a command run; as its envs, a 14 s stall and a 400 from the validator (E2BIG).
  test('1,000,000 keys (13 MB) in envs or in an unknown field are a 400, found before parsing', async () => {
    await expectTooMany(await postJson(fx.d, '/command', `{"command":"true","envs":${many}}`))
    await expectTooMany(await postJson(fx.d, '/command', `{"command":"true","junk":${many}}`))
  })

  test('99,999 commas between them are accepted, 100,000 are not', async () => {
    const elements = (n: number) => `{"command":"true","x":[${Array(n).fill('1').join(',')}]}`
    // One comma between the two members, n - 1 between the elements.
    const ok = await postJson(fx.d, '/command', elements(99_999))
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('execution_complete')
    await expectTooMany(await postJson(fx.d, '/command', elements(100_000)))
  })

  test('/ping answers while bodies of a million keys are being refused', async () => {
    const refusing = Array.from({ length: 4 }, () =>
      postJson(fx.d, '/command', `{"command":"true","junk":${many}}`).then(r => r.status),
    )
    // Once one is answered the others have arrived: main's build parsed each on the event loop
    // (3–5 s each, one after another) before the ping's turn.
    await Promise.race(refusing)
    const ping = await fx.d.fetch('/ping', { signal: AbortSignal.timeout(3000) })
    expect(ping.status).toBe(200)
    expect(await Promise.all(refusing)).toEqual([400, 400, 400, 400])
  })
})

describe('malformed bodies', () => {
  const bad: [string, string | Blob][] = [
    ['single quotes', "{'a':1}"],
    ['two values', '{"a":1}{"b":2}'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a truncated object', '{"cwd": '],
    [
      'invalid UTF-8',
      new Blob([new Uint8Array([0x7b, 0x22, 0x63, 0x77, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])]),
    ],
  ]
  // The reference decodes any body as JSON whatever its type: none of these may smuggle one past.
  const types = ['application/json', 'text/plain', 'application/xml', 'application/octet-stream', undefined]
  // Every route whose body is optional, as the OpenAPI document marks them: none may be missed.
  const OPTIONAL_BODIES = ['/pty', '/session']

  test('the routes whose body is optional are marked so in /openapi.json, and only they', async () => {
    const doc = await (await fx.d.fetch('/openapi.json')).json()
    const optional = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .filter(([, ops]) => Object.values(ops).some(op => op.requestBody?.required === false))
      .map(([path]) => path)
      .sort()
    expect(optional).toEqual(OPTIONAL_BODIES)
  })

  for (const route of OPTIONAL_BODIES) {
    for (const [what, body] of bad) {
      test(`POST ${route} with ${what} is a 400, whatever the Content-Type`, async () => {
        for (const type of types) {
          const res = await fx.d.fetch(route, { method: 'POST', body, headers: type ? { 'content-type': type } : {} })
          expect([type, res.status, (await res.json()).code]).toEqual([type, 400, 'INVALID_REQUEST_BODY'])
        }
      })
    }

    test(`POST ${route} with no body, or an empty one, still creates one`, async () => {
      for (const init of [
        { method: 'POST' },
        { method: 'POST', body: '', headers: { 'content-type': 'application/json' } },
        { method: 'POST', body: ' \n', headers: { 'content-type': 'application/json' } },
      ]) {
        const res = await fx.d.fetch(route, init)
        expect(res.status).toBeLessThan(300)
        expect((await res.json()).session_id).toBeString()
      }
    })

    test(`POST ${route} reads a JSON body sent with another Content-Type, as the reference does`, async () => {
      const res = await fx.d.fetch(route, {
        method: 'POST',
        body: JSON.stringify({ cwd: 7 }),
        headers: { 'content-type': 'application/xml' },
      })
      expect(res.status).toBe(400)
      expect((await res.json()).message).toContain('cwd')
    })
  }

  // Go's decoder says EOF of an absent body, and SDKs show the message: `POST /command` said
  // `command: Expected string` (Elysia read its absent body as an object) and an isolated
  // create `workspace: Expected required property`.
  test('a route that needs a body answers none, or a blank one, with the reference EOF 400', async () => {
    const needing = ['/command', '/code', '/code/context', `/session/${sessionId}/run`, '/files/mv']
    for (const route of [...needing, '/files/replace', '/files/permissions', '/directories', '/v1/isolated/session']) {
      for (const body of [undefined, '', ' \n']) {
        const res = await fx.d.fetch(route, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
        const error = await res.json()
        expect([route, res.status, error.code, error.message]).toEqual([
          route,
          400,
          'INVALID_REQUEST_BODY',
          'error parsing request, MAYBE invalid body format. EOF',
        ])
      }
    }
  })

  test('/files/mv wants an array: an object is a 400', async () => {
    const res = await postJson(fx.d, '/files/mv', '{"src":"a","dest":"b"}')
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('INVALID_REQUEST_BODY')
  })
})

describe('a large body to a route asked with a query string', () => {
  // Parsed in turns by the front door and handed on parsed (Elysia parsed it whole again).
  const pad = 'x'.repeat(300 * 1024)

  test('a cell runs as it does without the query', async () => {
    const res = await postJson(fx.d, '/code?wait=false', { context: { language: 'bash' }, code: `# ${pad}\necho hi` })
    expect(res.status).toBe(200)
    expect(stdoutJoined(await readSse(res))).toBe('hi\n')
  })

  test("a body not of the route's schema is the same 400", async () => {
    const res = await postJson(fx.d, '/code?wait=false', { code: 123, pad })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      code: 'INVALID_REQUEST_BODY',
      message: 'invalid request, validation error code: Expected string',
    })
  })
})
