/**
 * Builds the Elysia app from the plugin list it is given: auth on every route, one error
 * renderer, `/ping`, `/openapi.json` from the same TypeBox schemas that validate requests,
 * and the offline API explorer at `/docs`.
 */
import { Elysia, t } from 'elysia'
import { createTokenCheck, unauthorized } from './auth'
import type { JsonShape } from './body'
import { CapabilitySchema, capabilities } from './capabilities'
import { SERVER, settingsOf, type Config } from './config'
import { DOCS_PATHS, docsAsset, isDocsAsset } from './docs'
import { openApiDocument } from './openapi'
import { ExecdError, PREFIX, emptyOk, errorResponse, json, toExecdError } from './errors'
import { ERROR_COMPONENTS, errorSchemas, errors } from './responses'
import { createFrontDoor, pathOf } from './front-door'
import { INTERRUPTS, InterruptHub } from './interrupts'
import { createLogger, type Logger } from './log'
import { listOption } from './origin'
import type { DirectRoute, OpenSection, Plugin, PluginContext, Runtime, Section } from './plugin'
import { Registry } from './registry'
import { limitStreams } from './sse'

interface AppParts {
  plugins: readonly Plugin[]
  runtimes: readonly Runtime[]
  config: Config
  log: Logger
}

/** The sections of one app (or one CLI run), opened in list order and owned here. */
interface OpenedSections {
  ctx: PluginContext
  /** The opened instance of `section` (which must be among those opened). */
  get<Ops>(section: Section<Ops>): OpenSection<Ops>
  /** Closes every section, in reverse order; never throws. */
  close(): Promise<void>
}

/**
 * Opens every section of the list with one shared context: `serve` does it for the whole list,
 * a CLI verb for the sections it needs. A section that provides a service (the command runner)
 * comes before one that uses it at open time.
 */
export async function openSections(parts: AppParts): Promise<OpenedSections> {
  const registry = new Registry()
  registry.provide(INTERRUPTS, new InterruptHub())
  // One cap for the streams of every section (core/sse.ts), set by whoever opens them.
  limitStreams(settingsOf(parts.config, SERVER).maxStreams)
  // Runtimes that keep state get one instance per app, as sections do.
  const runtimes = parts.runtimes.map(r => r.open?.() ?? r)
  const ctx: PluginContext = { config: parts.config, log: parts.log, registry, runtimes }
  const opened = new Map<Section<unknown>, OpenSection<unknown>>()
  for (const section of parts.plugins) opened.set(section, await section.open(ctx))
  return {
    ctx,
    get<Ops>(section: Section<Ops>): OpenSection<Ops> {
      const instance = opened.get(section as Section<unknown>)
      if (!instance) throw new Error(`section ${section.name} is not opened`)
      return instance as OpenSection<Ops>
    },
    async close() {
      await Promise.allSettled([...opened.values()].reverse().map(async s => s.close?.()))
    },
  }
}

/** Opens one section on its own, as a CLI verb does: `const { ops } = await openSection(files, config)`. */
export async function openSection<Ops>(
  section: Section<Ops>,
  config: Config,
  log: Logger = createLogger('error'),
): Promise<OpenSection<Ops> & { close(): Promise<void> }> {
  const sections = await openSections({ plugins: [section], runtimes: [], config, log })
  return { ...sections.get(section), close: () => sections.close() }
}

export async function createApp(parts: AppParts) {
  const sections = await openSections(parts)
  const ctx = sections.ctx
  const settings = settingsOf(parts.config, SERVER)
  const checkToken = createTokenCheck(settings.accessToken)
  const log = parts.log

  // Set once every route is mounted (below), before any request can reach it.
  let document = (): Promise<Response> => Promise.reject(new Error('the document is not ready'))

  // The path starts after the first '/' past the scheme, not at a fixed offset: a short Host
  // (`Host: x`) otherwise lost the path's start or, with `Host: ab`, served /ab/metrics as /metrics.
  let app = new Elysia({ name: 'execd', handler: { standardHostname: false } })
    .onRequest(({ request }) => {
      // Also checked by the front door; kept so app.handle() alone is never open.
      if (!checkToken(request.headers) && !isDocsAsset(request.method, pathOf(request.url))) return unauthorized()
      log.debug('request', { method: request.method, path: pathOf(request.url) })
    })
    .onError(({ code, error, request }) => renderError(code, error, request, log))
    // The document itself is not an operation it lists.
    .get('/openapi.json', () => document(), { detail: { hide: true } })
    .get('/ping', () => emptyOk(), {
      detail: {
        tags: ['health'],
        summary: 'Liveness check (200, empty body)',
        responses: { 200: { description: 'alive, empty body' }, ...errors() },
      },
    })
    .get('/capabilities', () => json(capabilities()), {
      response: { 200: t.Array(CapabilitySchema, { description: 'one entry per piece' }), ...errorSchemas() },
      detail: {
        tags: ['health'],
        summary:
          'What this container offers execd (/proc, /dev/null, bash, a shell, devpts) and what each missing piece disables',
      },
    })

  // The explorer's page and files: not API operations, so not in the document it explores.
  for (const path of DOCS_PATHS) {
    app = app.get(path, () => docsAsset(path), { detail: { hide: true } }) as unknown as typeof app
  }

  for (const section of parts.plugins) {
    const routes = sections.get(section).routes?.()
    if (routes) app = app.use(routes) as unknown as typeof app
  }
  document = openApiDocument(app, optionalBodiesOf(app.routes))
  const handle = (request: Request) => app.handle(request)
  // Elysia composes its request handler on the first request: done now, so that the first
  // /ping finds it ready (each route's own handler is still compiled on its first request).
  void app.fetch
  const token = settings.accessToken
  const fetch = createFrontDoor(handle, {
    token,
    origin: {
      checkHost: !token,
      allowedHosts: listOption(settings.allowedHost),
      allowedOrigins: listOption(settings.allowedOrigin),
    },
    body: { maxBytes: settings.maxJsonBytes, timeoutMs: settings.bodyTimeout },
    maxRequests: settings.maxRequests,
    rawPrefixes: parts.plugins.flatMap(p => p.rawBodyPrefixes ?? []),
    shapeOf: bodyShapes(app.routes),
    directOf: directRoutes(
      parts.plugins.flatMap(p => sections.get(p).direct?.() ?? []),
      log,
    ),
  })
  return { app, ctx, fetch, sections, close: () => sections.close() }
}

type RouteInfo = { method: string; path: string; hooks?: { body?: { type?: unknown } } }

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

/** method+path → the JSON shape its body schema declares, matching `:param` segments. */
function bodyShapes(routes: readonly RouteInfo[]): (method: string, path: string) => JsonShape | undefined {
  const table: { method: string; pattern: RegExp; shape: JsonShape }[] = []
  for (const r of routes) {
    const type = r.hooks?.body?.type
    if (type !== 'object' && type !== 'array') continue
    const source = r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')
    table.push({ method: r.method, pattern: new RegExp(`^${source}$`), shape: type })
  }
  return (method, path) => table.find(e => e.method === method && e.pattern.test(path))?.shape
}

/** method+path → its direct route, which logs and renders its failures as the app does. */
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

function renderError(code: string | number, error: unknown, request: Request, log: Logger): Response {
  switch (code) {
    case 'NOT_FOUND':
      return errorResponse(new ExecdError('NOT_FOUND', `route not found: ${request.method} ${pathOf(request.url)}`))
    case 'PARSE':
      return errorResponse(new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}${messageOf(error)}`))
    case 'VALIDATION':
      return errorResponse(validationError(error))
  }
  const e = toExecdError(error)
  if (e.status >= 500) log.error('request failed', { path: pathOf(request.url), error: e.message })
  return errorResponse(e)
}

/** Elysia's validation error → the reference's codes: a missing query parameter is MISSING_QUERY. */
function validationError(error: unknown): ExecdError {
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
  if (on === 'body' && (v.value === undefined || v.value === null || v.value === '')) {
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
