/**
 * The OpenAPI document (`/openapi.json`) of every mounted route, from the same TypeBox schemas
 * that validate requests; the explorer that reads it is core/docs.ts.
 */
import type { AnyElysia } from 'elysia'
import { VERSION } from './version'
import { documentEveryFailure, ERROR_COMPONENTS } from './responses'

/** What /openapi.json says of itself: its title, server, error components and security scheme. */
const DOCUMENTATION = {
  info: {
    title: 'execd',
    description: 'In-sandbox execution daemon, wire-compatible with OpenSandbox execd.',
    version: VERSION,
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  // Relative: the daemon that serves this document (whatever host and port it was reached at).
  servers: [{ url: '/', description: 'this execd' }],
  components: {
    ...ERROR_COMPONENTS,
    securitySchemes: {
      accessToken: { type: 'apiKey', in: 'header', name: 'X-EXECD-ACCESS-TOKEN' },
    },
  },
  security: [{ accessToken: [] }],
}

type DocumentPaths = Record<
  string,
  Record<
    string,
    { requestBody?: { required?: boolean; content?: Record<string, unknown> }; responses?: Record<string, any> }
  >
>

/**
 * /openapi.json: built on its first request, not at start (it was the largest piece of the
 * start: about a third of the time to the first /ping), then served as the same bytes. Call it
 * once every route is mounted and before any request is handled: Elysia adds
 * `additionalProperties: false` to a route's object schemas when it compiles the route (on the
 * route's first request), and the document describes the schemas as declared — so the object
 * schemas that declare no `additionalProperties` now are noted, and whatever compiling added to
 * them is set aside while the document is built (synchronously: no request runs meanwhile).
 * The document is the one `@elysiajs/openapi` builds (its `toOpenAPISchema`, with the parts
 * above), loaded on that first request too. Routes mounted in groups, each before its own first
 * request (core/mount.ts), pass the schemas each group noted then as `undeclared`.
 */
export function openApiDocument(
  app: AnyElysia,
  optionalBodies: ReadonlySet<string>,
  undeclared: readonly SchemaNode[],
): () => Promise<Response> {
  let text: Promise<string> | undefined
  const build = async () => {
    const { toOpenAPISchema } = await import('@elysiajs/openapi')
    const added = undeclared.filter(s => 'additionalProperties' in s).map(s => [s, s.additionalProperties] as const)
    for (const [schema] of added) delete schema.additionalProperties
    try {
      // Every method a route serves is documented, OPTIONS too (the plugin hides it by default).
      const { paths, components } = toOpenAPISchema(app, { methods: [] }, undefined, undefined, '3.1.2')
      const doc = {
        ...DOCUMENTATION,
        openapi: '3.1.2',
        paths,
        components: { ...DOCUMENTATION.components, schemas: { ...components.schemas, ...ERROR_COMPONENTS.schemas } },
      }
      markOptionalBodies(doc.paths as DocumentPaths, optionalBodies)
      jsonBodiesOnly(doc.paths as DocumentPaths)
      documentEveryFailure(doc.paths as DocumentPaths)
      return JSON.stringify(doc)
    } finally {
      for (const [schema, value] of added) schema.additionalProperties = value
    }
  }
  return async () => {
    // A failed build is tried again on the next request rather than cached.
    text ??= build().catch(err => {
      text = undefined
      throw err
    })
    return new Response(await text, { headers: { 'content-type': 'application/json;charset=utf-8' } })
  }
}

/**
 * The plugin marks every request body required; a route that accepts no body at all
 * (`POST /session`, `POST /pty`) says so with `required: false`. `keys` are `post /session`-style.
 */
function markOptionalBodies(paths: DocumentPaths, keys: ReadonlySet<string>): void {
  for (const key of keys) {
    const [method, path] = key.split(' ') as [string, string]
    const body = paths[path]?.[method]?.requestBody
    if (body) body.required = false
  }
}

/**
 * The plugin offers every object body also as multipart and form encoding; a route with a JSON
 * body reads whatever comes as JSON (core/front-door.ts, as the reference does), so a client
 * generated from those encodings would send fields the route cannot read. Only
 * `application/json` is listed for them; the upload's multipart body stays as it is.
 */
function jsonBodiesOnly(paths: DocumentPaths): void {
  for (const operations of Object.values(paths)) {
    for (const op of Object.values(operations)) {
      const content = op.requestBody?.content
      if (content?.['application/json'] && op.requestBody) {
        op.requestBody.content = { 'application/json': content['application/json'] }
      }
    }
  }
}

export type SchemaNode = Record<string, unknown> & { additionalProperties?: unknown }

/**
 * The routes' own schemas (body, query, params, headers, cookie, each response) that are
 * objects without an `additionalProperties` key: the ones Elysia completes when it compiles a
 * route. Only these top-level schemas, not a walk of every nested one: it runs for every group
 * of routes as it is built,
 * and Elysia leaves nested schemas alone (spec/openapi.test.ts checks the whole document after
 * every route has compiled).
 */
export function objectSchemasWithoutAdditional(routes: readonly { hooks?: unknown }[]): SchemaNode[] {
  const found = new Set<SchemaNode>()
  const note = (schema: unknown) => {
    const node = schema as SchemaNode | undefined
    if (node?.type === 'object' && !('additionalProperties' in node)) found.add(node)
  }
  for (const route of routes) {
    const hooks = route.hooks as Record<string, unknown> | undefined
    if (!hooks) continue
    for (const key of ['body', 'query', 'params', 'headers', 'cookie']) note(hooks[key])
    const response = hooks.response as Record<string, unknown> | undefined
    if (response && typeof response === 'object' && !('type' in response) && !('anyOf' in response)) {
      for (const status in response) note(response[status])
    } else note(response)
  }
  return [...found]
}
