/**
 * Every route the app serves is in /openapi.json with its schemas (an undocumented route once
 * shipped reachable in a peer daemon). The explorer at /docs is tested in a browser (spec/docs.test.ts).
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { createApp } from '../core/app'
import { DOCS_PATHS } from '../core/docs'
import { createLogger } from '../core/log'
import { configFrom } from '../cmd/options'
import { plugins, runtimes } from '../plugins'
import { startDaemon } from './harness'

// The document itself, and the explorer's static files (not API operations).
const UNDOCUMENTED = new Set<string>(['/openapi.json', ...DOCS_PATHS])
const SNAPSHOT = join(import.meta.dir, 'openapi.json')

async function inProcess() {
  const { app } = await createApp({ plugins, runtimes, config: configFrom({}), log: createLogger('silent') })
  const spec = await (await app.handle(new Request('http://localhost/openapi.json'))).json()
  return { app, spec }
}

/** Elysia writes path params as :id, OpenAPI as {id}. */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

describe('openapi', () => {
  test('every route of every plugin is documented with a summary', async () => {
    const { app, spec } = await inProcess()
    const missing: string[] = []
    for (const route of app.routes) {
      if (UNDOCUMENTED.has(route.path)) continue
      const op = spec.paths?.[toOpenApiPath(route.path)]?.[route.method.toLowerCase()]
      if (!op) missing.push(`${route.method} ${route.path}`)
      else if (!op.summary) missing.push(`${route.method} ${route.path} (no summary)`)
    }
    expect(missing).toEqual([])
  })

  test('request schemas are the ones that validate: bodies and required query parameters appear', async () => {
    const { app, spec } = await inProcess()
    for (const route of app.routes) {
      const hooks = (route as any).hooks ?? {}
      const op = spec.paths?.[toOpenApiPath(route.path)]?.[route.method.toLowerCase()]
      if (!op) continue
      if (hooks.body) expect(op.requestBody, `${route.method} ${route.path}`).toBeDefined()
      // A route that accepts no body at all (t.Optional of the whole body) says so.
      const optional = hooks.body?.[Symbol.for('TypeBox.Optional')] === 'Optional'
      if (hooks.body) expect([route.path, op.requestBody.required]).toEqual([route.path, !optional])
      if (hooks.query) expect(op.parameters?.length, `${route.method} ${route.path}`).toBeGreaterThan(0)
    }
  })

  test('a JSON body is offered as application/json only, the upload as multipart only', async () => {
    const { spec } = await inProcess()
    const types: Record<string, string[]> = {}
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.requestBody) types[`${method} ${path}`] = Object.keys(op.requestBody.content)
      }
    }
    for (const upload of ['post /files/upload', 'post /v1/isolated/session/{sessionId}/files/upload']) {
      expect(types[upload]).toEqual(['multipart/form-data'])
      delete types[upload]
    }
    expect(Object.keys(types).length).toBeGreaterThan(10)
    for (const [key, list] of Object.entries(types)) expect([key, list]).toEqual([key, ['application/json']])
  })

  test('every operation documents the failures every route can give', async () => {
    // An unexpected failure is a 500 RUNTIME_ERROR; the fd or process limit reached, or the
    // route's group still being built, a 503 (core/errors.ts limitReached, core/app.ts); a JSON
    // body over --max-json-bytes a 413, one not received in time a 408 (core/body.ts); the
    // token check a 401. /ping alone is answered before all of them.
    const { spec } = await inProcess()
    const missing: string[] = []
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path === '/ping') continue
        const statuses = ['401', '500', '503']
        if (op.requestBody?.content?.['application/json']) statuses.push('408', '413')
        for (const status of statuses) if (!op.responses?.[status]) missing.push(`${method} ${path} ${status}`)
      }
    }
    expect(missing).toEqual([])
    expect(spec.paths['/files/info'].get.responses['503'].description).toContain('limit reached')
    expect(spec.paths['/pty'].post.responses['503'].description).toContain('too many terminals')
    expect(spec.paths['/pty'].post.responses['503'].description).toContain('limit reached')
  })

  test("a route's 503 and 400 name the limits and refusals it answers with", async () => {
    // Each was answered and not named: --max-commands, a default context past --max-contexts
    // (spec/code-limits), a replace losing its race to another writer (spec/files-replace-change).
    const { spec } = await inProcess()
    const said = (path: string, method: string, status: string): string =>
      spec.paths[path][method].responses[status].description
    expect(said('/command', 'post', '503')).toContain('--max-commands')
    expect(said('/command', 'post', '503')).toContain('--max-background-commands')
    expect(said('/code', 'post', '503')).toContain('--max-contexts')
    expect(said('/files/replace', 'post', '400')).toContain('changed or removed while it was rewritten')
  })

  test("an isolated session's files operations document their answers", async () => {
    const { spec } = await inProcess()
    const files = '/v1/isolated/session/{sessionId}/files'
    expect(Object.keys(spec.paths[`${files}/info`].get.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404']),
    )
    expect(Object.keys(spec.paths[`${files}/download`].get.responses)).toEqual(
      expect.arrayContaining(['200', '206', '416']),
    )
    expect(Object.keys(spec.paths[`${files}/mv`].post.responses)).toEqual(expect.arrayContaining(['200', '403']))
  })

  test("an isolated session's files operations document their parameters and bodies as the SDK does", async () => {
    // The SDK's generated OpenAPI (@alibaba-group/opensandbox src/api/execd.ts, isolated*):
    // each query parameter with its type and description, the Range header, the bodies.
    const { spec } = await inProcess()
    const at = (path: string, method: string) => spec.paths[`/v1/isolated/session/{sessionId}${path}`][method]
    const described = (op: any) =>
      Object.fromEntries(
        (op.parameters as any[]).map(p => [
          `${p.in} ${p.name}`,
          `${p.schema.type ?? p.schema.items?.type} ${p.schema.description ?? ''}`,
        ]),
      )
    const expected: Record<string, Record<string, RegExp>> = {
      'get /files/info': { 'query path': /^array File path\(s\) to get info for \(can be specified multiple times\)/ },
      'get /files/download': {
        'query path': /^string /,
        'query offset':
          /^string Starting line number \(1-based\) for line-based reading\. Mutually exclusive with Range header\.$/,
        'query limit':
          /^string Number of lines to return for line-based reading\. Mutually exclusive with Range header\.$/,
        'header range':
          /^string HTTP Range header for partial content requests\. Mutually exclusive with offset\/limit\.$/,
      },
      'delete /files': { 'query path': /^array File path\(s\) to delete \(can be specified multiple times\)/ },
      'post /files/replace': {
        'query verbose': /^string When true, return per-file replacement counts; true unless given/,
      },
      'get /files/search': {
        'query path': /^string Root directory path to search in/,
        'query pattern': /^string Glob pattern to match files \(default is \*\*\)$/,
      },
      'get /directories/list': {
        'query path': /^string Directory path to list/,
        'query depth': /^string Maximum depth to traverse \(default 1\)$/,
      },
      'delete /directories': {
        'query path': /^array Directory path\(s\) to delete \(can be specified multiple times\)/,
      },
    }
    for (const [key, params] of Object.entries(expected)) {
      const [method, path] = key.split(' ') as [string, string]
      const got = described(at(path, method))
      expect(got['path sessionId'], key).toBe('string ')
      for (const [name, text] of Object.entries(params)) expect(got[name], `${key} ${name}`).toMatch(text)
    }
    expect(described(at('/files/download', 'head'))['query offset']).toStartWith('string ')
    const body = (path: string) => at(path, 'post').requestBody.content['application/json'].schema
    expect(body('/files/mv').items.title).toBe('RenameFileItem')
    expect(body('/files/permissions').patternProperties['^(.*)$'].title).toBe('Permission')
    expect(body('/directories').patternProperties['^(.*)$'].title).toBe('Permission')
    expect(body('/files/replace').patternProperties['^(.*)$'].title).toBe('ReplaceFileContentItem')
    const upload = at('/files/upload', 'post').requestBody.content['multipart/form-data'].schema.properties
    expect(upload.metadata.description).toStartWith('JSON-encoded file metadata')
    expect(upload.file.description).toStartWith('File to upload')
  })

  test("an isolated session's files routes validate what they document, before the session is looked up", async () => {
    // Through the executable: compiling the routes in process would mark the shared schemas
    // (additionalProperties) before the next test's app notes them.
    const d = await startDaemon()
    try {
      const at = '/v1/isolated/session/no-such-session'
      const answer = async (method: string, path: string, body?: string) => {
        const headers = body ? { 'content-type': 'application/json' } : undefined
        const res = await d.fetch(`${at}${path}`, { method, body, headers })
        const code = method === 'HEAD' ? '' : ((await res.json()) as { code: string }).code
        return [method, path, body, res.status, code]
      }
      for (const [method, path, body] of [
        ['GET', '/files/download?path=a&offset=0'],
        ['GET', '/files/download?path=a&limit=1.5'],
        ['HEAD', '/files/download?path=a&offset=x'],
        ['GET', '/directories/list?path=a&depth=-1'],
        ['POST', '/files/replace?verbose=maybe', '{"a":{"old":"x","new":"y"}}'],
        ['POST', '/files/mv', '{"src":"a","dest":"b"}'],
        ['POST', '/files/mv', '[{"src":""}]'],
        ['POST', '/files/permissions', '[{}]'],
        ['POST', '/files/replace', '{"a":{"old":"x"}}'],
        ['POST', '/directories', '{"a":{"mode":-1}}'],
      ] as const) {
        const code = method === 'HEAD' ? '' : 'INVALID_REQUEST_BODY'
        expect(await answer(method, path, body)).toEqual([method, path, body, 400, code])
      }
      // What validates reaches the session lookup.
      for (const [method, path, body] of [
        ['GET', '/files/download?path=a&offset=2&limit=3'],
        ['GET', '/directories/list?path=a&depth=0'],
        ['POST', '/files/replace?verbose=true', '{"a":{"old":"x","new":"y"}}'],
        ['POST', '/files/mv', '[{"src":"a","dest":"b"}]'],
        ['POST', '/directories', '{"a":{"mode":755}}'],
      ] as const)
        expect(await answer(method, path, body)).toEqual([method, path, body, 404, 'CONTEXT_NOT_FOUND'])
    } finally {
      await d.stop()
    }
  })

  test('the document is built from the schemas as declared, even after every route has compiled', async () => {
    // It is built on its first request; compiling a route (its first request) adds
    // `additionalProperties: false` to its object schemas, which the document must not show.
    const { app, close } = await createApp({ plugins, runtimes, config: configFrom({}), log: createLogger('silent') })
    try {
      let compiled = 0
      for (const route of app.routes as { compile?: () => unknown }[]) {
        if (typeof route.compile !== 'function') continue
        route.compile()
        compiled++
      }
      expect(compiled).toBeGreaterThan(50)
      const served = JSON.stringify(
        await (await app.handle(new Request('http://localhost/openapi.json'))).json(),
        null,
        2,
      )
      expect(served + '\n').toBe(await Bun.file(SNAPSHOT).text())
    } finally {
      await close()
    }
  })

  test('the executable serves exactly the committed wire contract (spec/openapi.json)', async () => {
    // A deliberate change of the wire contract updates the snapshot in the same commit:
    // EXECD_UPDATE_OPENAPI=1 bun test spec/openapi.test.ts
    const d = await startDaemon()
    try {
      const served = JSON.stringify(await (await d.fetch('/openapi.json')).json(), null, 2) + '\n'
      if (process.env.EXECD_UPDATE_OPENAPI === '1') await Bun.write(SNAPSHOT, served)
      expect(served).toBe(await Bun.file(SNAPSHOT).text())
    } finally {
      await d.stop()
    }
  })

  test('the executable serves the same document', async () => {
    const d = await startDaemon()
    try {
      const served = await (await d.fetch('/openapi.json')).json()
      const { spec } = await inProcess()
      expect(Object.keys(served.paths).sort()).toEqual(Object.keys(spec.paths).sort())
      expect(served.components.securitySchemes.accessToken.name).toBe('X-EXECD-ACCESS-TOKEN')
    } finally {
      await d.stop()
    }
  })
})
