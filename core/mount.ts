/**
 * The Elysia side of the app, loaded with the first group of routes rather than before the
 * server listens (core/app.ts): one group's routes (a section's, or the core's own) in an Elysia
 * app of their own with the shared error renderer (composed by Elysia on the group's first
 * request), and what the front door and the OpenAPI document need to know of them.
 */
import type { TSchema } from '@sinclair/typebox'
import { Elysia, type AnyElysia } from 'elysia'
import type { JsonShape } from './body'
import { ExecdError, PREFIX, errorResponse, toExecdError } from './errors'
import { notFound, pathOf, under } from './front-door'
import type { Logger } from './log'
import { LogThrottle } from './log-throttle'
import type { DirectRoute } from './plugin'
import { objectSchemasWithoutAdditional, openApiDocument, type SchemaNode } from './openapi'

type RouteInfo = { method: string; path: string; hooks?: { body?: { type?: unknown } } }

/** One group of routes, mounted: its app and what is known of its routes. */
export interface Mounted {
  app: AnyElysia
  /** Answers a request of this group (a HEAD as its GET, marked with the HEAD where a route takes HEAD: askedOf). */
  handle(request: Request): Response | Promise<Response>
  routes: readonly RouteInfo[]
  /** The JSON shape a route of this group declares for its body, if any. */
  shapeOf(method: string, path: string): JsonShape | undefined
  /** The schema a route of this group declares for its JSON body, if any. */
  schemaOf(method: string, path: string): TSchema | undefined
  /** Noted before any of its routes compiled (core/openapi.ts says why). */
  undeclared: readonly SchemaNode[]
  optionalBodies: ReadonlySet<string>
  /** The group's direct route for a method and path (core/plugin.ts DirectRoute), if any. */
  directOf(method: string, path: string): DirectRoute | undefined
}

/**
 * Mounts one group's routes. Every route must lie under one of the group's `prefixes`: the
 * dispatcher finds a group by its prefixes before its routes exist, so a route outside them
 * would never be reached.
 */
export function mount(
  name: string,
  prefixes: readonly string[],
  routes: AnyElysia,
  log: Logger,
  direct: readonly DirectRoute[] = [],
): Mounted {
  // The path starts after the first '/' past the scheme, not at a fixed offset: a short Host
  // (`Host: x`) otherwise lost the path's start or, with `Host: ab`, served /ab/metrics as /metrics.
  const app = new Elysia({ name: 'execd', handler: { standardHostname: false } })
    .onError(({ code, error, request }) => renderError(code, error, request, log))
    .use(routes)
  const stray = app.routes.find(r => !prefixes.some(p => under(r.path, p)))
  if (stray) throw new Error(`${name}: route ${stray.method} ${stray.path} lies outside its prefixes ${prefixes}`)
  const undeclared = objectSchemasWithoutAdditional(app.routes)
  // Elysia composes the group's request handler on its first request, not here: composing
  // every group in the background kept ~0.8 MiB more resident when idle (each route's own
  // handler is compiled on its first request too, as always).
  const takesHead = headRoutes(app.routes)
  const schemaOf = bodySchemas(app.routes)
  const headless = app.routes.find(
    r => r.method === 'HEAD' && !app.routes.some(g => g.method === 'GET' && g.path === r.path),
  )
  if (headless)
    throw new Error(`${name}: route HEAD ${headless.path} has no GET route: a HEAD is answered by its GET's`)
  return {
    app,
    handle: request => {
      if (request.method !== 'HEAD') return app.handle(request)
      const get = asGet(request)
      if (takesHead(pathOf(request.url))) heads.set(get, request)
      return app.handle(get)
    },
    routes: app.routes,
    shapeOf: shapesOf(schemaOf),
    schemaOf,
    undeclared,
    optionalBodies: optionalBodiesOf(app.routes),
    directOf: directRoutes(direct, log),
  }
}

/**
 * Whether a path has a HEAD route of its own (downloads, the proxy). Elysia answers HEAD on any
 * other GET route by reading the GET's whole body for its Content-Length: a stream that does not
 * end (/metrics/watch, a running command's events) never answered and kept its stream slot after
 * the client left. Bun itself answers a HEAD with the GET's headers and cancels the body.
 */
function headRoutes(routes: readonly RouteInfo[]): (path: string) => boolean {
  const patterns = routes.filter(r => r.method === 'HEAD').map(r => routePattern(r.path))
  return path => patterns.some(p => p.test(path))
}

/** The same request as a GET: its body-less response goes out as the HEAD's (Bun drops the body). */
const asGet = (request: Request): Request =>
  new Request(request.url, { method: 'GET', headers: request.headers, signal: request.signal })

/**
 * A HEAD on a route that takes HEAD (downloads, the proxy) goes to Elysia as its GET too, marked
 * here with the HEAD it stands for; the route answers that HEAD (askedOf). Handed to Elysia as a
 * HEAD, a dynamic route's (`/proxy/*`, an isolated session's `files/download`) was answered by
 * the path's GET route and given the Content-Length of the body Elysia read: 0 for a HEAD's
 * answer, which has none (`curl -I` said 0 where GET sent 12,345 bytes). Its HEAD route declares
 * it (the document, takesHead); as a GET its answer goes out as the route made it.
 */
const heads = new WeakMap<Request, Request>()

/** The request a route answers: the HEAD a GET stands for (see heads), else `request` itself. */
export const askedOf = (request: Request): Request => heads.get(request) ?? request

/** A route path (`:param` segments, a trailing `*`) as a regular expression. */
const routePattern = (path: string): RegExp =>
  new RegExp(
    `^${path
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/:[^/]+/g, '[^/]+')
      .replace(/\*/g, '.*')}$`,
  )

/** method+path → its direct route, which logs and renders its failures as the group's app does. */
function directRoutes(
  routes: readonly DirectRoute[],
  log: Logger,
): (method: string, path: string) => DirectRoute | undefined {
  const table = new Map<string, DirectRoute>()
  for (const r of routes)
    table.set(`${r.method} ${r.path}`, {
      ...r,
      handle: async (body, request) => {
        log.debug('request', { method: request.method, path: r.path })
        try {
          return await r.handle(body, request)
        } catch (err) {
          return renderError('UNKNOWN', err, request, log)
        }
      },
    })
  return (method, path) => table.get(`${method} ${path}`)
}

/** /openapi.json over every group, in the order given (the document's order of paths). */
export function documentOf(groups: readonly Mounted[]): () => Promise<Response> {
  const routes = groups.flatMap(g => g.routes)
  // What the document builder reads of an app: its routes, and no shared models.
  const whole = { routes, getGlobalRoutes: () => routes, getGlobalDefinitions: () => ({ type: {} }) }
  return openApiDocument(
    whole as unknown as AnyElysia,
    new Set(groups.flatMap(g => [...g.optionalBodies])),
    groups.flatMap(g => g.undeclared),
  )
}

/** TypeBox's mark of `t.Optional(...)` (its OptionalKind symbol, registered globally). */
const OPTIONAL = Symbol.for('TypeBox.Optional')

/** `post /session`-style keys (OpenAPI path form) of the routes whose whole body is optional. */
function optionalBodiesOf(routes: readonly RouteInfo[]): Set<string> {
  const keys = new Set<string>()
  for (const r of routes) {
    const body = r.hooks?.body as Record<symbol, unknown> | undefined
    if (body?.[OPTIONAL] === 'Optional') keys.add(`${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
  }
  return keys
}

/** method+path → the JSON body schema it declares (an object's or an array's), matching `:param` segments. */
function bodySchemas(routes: readonly RouteInfo[]): (method: string, path: string) => TSchema | undefined {
  const table: { method: string; pattern: RegExp; schema: TSchema }[] = []
  for (const r of routes) {
    const type = r.hooks?.body?.type
    if (type !== 'object' && type !== 'array') continue
    table.push({ method: r.method, pattern: routePattern(r.path), schema: r.hooks!.body as TSchema })
  }
  return (method, path) => table.find(e => e.method === method && e.pattern.test(path))?.schema
}

/** method+path → the JSON shape its body schema declares. */
const shapesOf =
  (schemaOf: (method: string, path: string) => TSchema | undefined) =>
  (method: string, path: string): JsonShape | undefined =>
    schemaOf(method, path)?.type as JsonShape | undefined

/**
 * The one renderer of an Elysia app's errors into `{code, message}` and a status, and of their
 * log lines (a failure, a refusal at a limit, a client gone): every group's (mount above), and
 * the isolated files view's, which passes the request the client sent for the one it forwards.
 */
export function renderError(code: string | number, error: unknown, request: Request, log: Logger): Response {
  switch (code) {
    case 'NOT_FOUND':
      return notFound(request)
    case 'PARSE':
      return errorResponse(new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}${messageOf(error)}`))
    case 'VALIDATION':
      return errorResponse(validationError(error, request.body === null))
  }
  const e = toExecdError(error)
  if (e.code === 'SERVICE_UNAVAILABLE') {
    // A refusal at a limit, not a failure of execd's: a warning, and not one per request.
    const skipped = refusals.admit(e.message)
    // A full pool's line says who held it (routes, languages, ages: a leak or a burst?).
    if (skipped !== undefined)
      log.warn('request refused', { path: pathOf(request.url), error: e.message, skipped, held: e.held?.() })
  } else if (request.signal.aborted) {
    // The client went away and the work stopped for it (a walk, a move, a replace): no failure.
    log.debug('request abandoned', { path: pathOf(request.url), error: e.message })
  } else if (e.status >= 500) log.error('request failed', { path: pathOf(request.url), error: e.message })
  return errorResponse(e)
}

const refusals = new LogThrottle()

/**
 * Elysia's validation error → the reference's codes: a missing query parameter is MISSING_QUERY,
 * and a body refused when none was sent is Go's `EOF`, as the reference words it on every route
 * that needs one (Elysia read some routes' absent body as `{}`: `POST /command` said `command:
 * Expected string`).
 */
function validationError(error: unknown, bodiless: boolean): ExecdError {
  const v = error as { type?: string; on?: string; valueError?: { path?: string; message?: string }; value?: unknown }
  const path = v.valueError?.path?.replace(/^\//, '') ?? ''
  const on = v.on ?? v.type
  if ((on === 'query' || on === 'params') && path && !path.includes('/')) {
    const value = (v.value as Record<string, unknown> | undefined)?.[path]
    if (value === undefined) {
      const kind = on === 'query' ? 'query' : 'path'
      return new ExecdError('MISSING_QUERY', `missing ${kind} parameter '${path}'`)
    }
    return new ExecdError('INVALID_REQUEST_BODY', `invalid ${on} parameter '${path}': ${v.valueError?.message ?? ''}`)
  }
  if (on === 'body' && (bodiless || v.value === undefined || v.value === null || v.value === '')) {
    return new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}EOF`)
  }
  const where = path ? `${path}: ` : ''
  return new ExecdError(
    'INVALID_REQUEST_BODY',
    `${PREFIX.validation}${where}${v.valueError?.message ?? messageOf(error)}`,
  )
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error)
