/**
 * The app behind the server: the sections opened from the plugin list (each section's `check()`
 * runs before the server listens, so what must fail at start fails there; its `open()` too,
 * unless it opens late: then `serve` opens it after listening), auth on every request,
 * `/ping` and the unknown-route 404 answered here, and every other request dispatched by its
 * path's prefix to one group of routes (a section's, or the core's own: /capabilities,
 * /openapi.json, /docs). A group's routes, with Elysia and their TypeBox schemas, are built on
 * the first request under its prefixes or by `loadAll()` after listening, whichever comes first:
 * building them all was most of the time from start to the first /ping.
 */
import type { AnyElysia } from 'elysia'
import { createTokenCheck, unauthorized } from './auth'
import { SERVER, settingsOf, type Config } from './config'
import { isDocsAsset } from './docs'
import { ExecdError, emptyOk } from './errors'
import type { Held } from './held-slots'
import type { Answer } from './answering'
import { Downloads } from './downloads'
import { createFrontDoor, notFound, pathOf, under } from './front-door'
import { INTERRUPTS, InterruptHub } from './interrupts'
import { createLogger, type Logger } from './log'
import type { Mounted } from './mount'
import { listOption } from './origin'
import type { DirectRoute, OpenSection, Plugin, PluginContext, Runtime, Section } from './plugin'
import { Registry } from './registry'
import { learnOpenFilesLimit } from './limits'
import { Streams } from './streams'
import { nextTurn, within } from './timers'
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
  /** The instance of `section` once it is open: at once, or after the sections that open late before it. */
  opened<Ops>(section: Section<Ops>): Promise<OpenSection<Ops>>
  /**
   * Who holds every capped pool of this app, now (core/held-slots.ts): its streams', its
   * downloads still sending and those of each section it opened, in list order. What SIGUSR2 logs.
   */
  held(): Held[]
  /** Closes every section, in reverse order; never throws. */
  close(): Promise<void>
}

/**
 * Opens every section of the list with one shared context: `serve` does it for the whole list,
 * a CLI verb for the sections it needs. A section that provides a service (the command runner)
 * comes before one that uses it at open time. Every section's `check` runs here, first; with
 * `late`, the sections that open late are left to the first `opened()` of one, which opens
 * them all in list order, each after the ones before it, as at once.
 */
export async function openSections(
  parts: AppParts,
  { late = false, serverOf }: { late?: boolean; serverOf?: () => Answer['server'] } = {},
): Promise<OpenedSections> {
  for (const section of parts.plugins) section.check?.(parts.config)
  for (const runtime of parts.runtimes) runtime.check?.(parts.config)
  const registry = new Registry()
  registry.provide(INTERRUPTS, new InterruptHub())
  // One cap for the streams of every section of this app (core/streams.ts).
  const downloads = new Downloads(routeGroups(parts.plugins.flatMap(sectionPrefixes)), parts.log, serverOf)
  const streams = new Streams(settingsOf(parts.config, SERVER).maxStreams, (request, kind, pool) =>
    downloads.guardRequest(request, kind, 'a --max-streams slot', pool),
  )
  // Runtimes that keep state get one instance per app, as sections do.
  const runtimes = parts.runtimes.map(r => r.open?.() ?? r)
  // Loaded by the first section that stages (after listening for serve: it loads node:fs).
  let journal: { close(): Promise<void> } | undefined
  let staging: Promise<void> | undefined
  const openStaging = async () => {
    const { stagedEntries } = await import('./beneath/staging')
    journal = stagedEntries
    await stagedEntries.open()
  }
  const ctx: PluginContext = {
    config: parts.config,
    log: parts.log,
    registry,
    runtimes,
    streams,
    downloads,
    staging: () => (staging ??= openStaging()),
  }
  const opened = new Map<Section<unknown>, OpenSection<unknown>>()
  const deferred: Section<unknown>[] = []
  for (const section of parts.plugins) {
    if (late && section.opensLate) deferred.push(section)
    else opened.set(section, await section.open(ctx))
  }
  // One chain in list order: a section that opens late may use what an earlier one provides.
  const opening = new Map<Section<unknown>, Promise<OpenSection<unknown>>>()
  let started = false
  let chain: Promise<unknown> = Promise.resolve()
  const openLate = () => {
    if (started) return
    started = true
    for (const section of deferred) {
      const next = chain.then(async () => {
        const instance = await section.open(ctx)
        opened.set(section, instance)
        return instance
      })
      opening.set(section, next)
      // A section that failed to open fails its own requests; the ones after it still open.
      chain = next.catch(err =>
        ctx.log.error('could not open a section', { section: section.name, error: (err as Error).message }),
      )
    }
  }
  return {
    ctx,
    held: () => [streams.held(), downloads.held(), ...parts.plugins.flatMap(s => opened.get(s)?.held?.() ?? [])],
    get<Ops>(section: Section<Ops>): OpenSection<Ops> {
      const instance = opened.get(section as Section<unknown>)
      if (!instance) throw new Error(`section ${section.name} is not opened`)
      return instance as OpenSection<Ops>
    },
    async opened<Ops>(section: Section<Ops>): Promise<OpenSection<Ops>> {
      const instance = opened.get(section as Section<unknown>)
      if (instance) return instance as OpenSection<Ops>
      openLate()
      const pending = opening.get(section as Section<unknown>)
      if (!pending) throw new Error(`section ${section.name} is not opened`)
      return (await pending) as OpenSection<Ops>
    },
    async close() {
      // A section still opening is closed once open: nothing it starts outlives execd. One not
      // yet opening never opens now.
      started = true
      await chain
      // The journal closes beside its sections, not after them: closing refuses new stagings, and
      // work still in flight (a move's copy) then removes what it made while the sections close.
      // Last, right before the exit, a copy caught mid-way left its `.execd-tmp-` dir beside the
      // user's files (spec/files-staging, one CI of stop 49).
      const closeJournal = async () => {
        await staging?.catch(() => {})
        await journal?.close()
      }
      await Promise.allSettled([...[...opened.values()].reverse().map(async s => s.close?.()), closeJournal()])
      // The runtimes this app opened go after the sections that ran contexts on them: a python
      // runtime's spare interpreter outlived its app (two apps in one process: the tests).
      await Promise.allSettled(runtimes.filter((r, i) => r !== parts.runtimes[i]).map(async r => r.close?.()))
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

/** The URL path prefixes a section's routes live under. */
const sectionPrefixes = (section: Plugin): readonly string[] => section.prefixes ?? [`/${section.name}`]

/** The route group of a request, `POST /files`, by the prefix its path lies under: for reports only. */
const routeGroups =
  (prefixes: readonly string[]) =>
  (method: string, path: string): string =>
    `${method} ${prefixes.find(p => under(path, p)) ?? '(no route)'}`

/**
 * A request under a group whose routes are still being built waits for them, this long at most
 * (a dynamic import of a module inside the executable: milliseconds, on a loaded machine tens).
 */
const LOAD_LIMIT_MS = 10_000

/** A route that does not exist: the same answer whether or not its path's group is loaded. */

/** One group of routes, found by its prefixes before it is built. */
interface Group {
  name: string
  prefixes: readonly string[]
  routes(): AnyElysia | Promise<AnyElysia>
  direct?(): readonly DirectRoute[] | Promise<readonly DirectRoute[]>
  mounted?: Mounted
  loading?: Promise<Mounted>
}

/**
 * The app of `parts`. By default every group of routes is built before it returns (tests, and
 * anything that reads `app.routes`); `serve` passes `lazy` and calls `loadAll()` once it listens.
 */
export async function createApp(parts: AppParts, { lazy = false }: { lazy?: boolean } = {}) {
  let server: unknown
  const sections = await openSections(parts, { late: lazy, serverOf: () => server as Answer['server'] })
  const ctx = sections.ctx
  const settings = settingsOf(parts.config, SERVER)
  const checkToken = createTokenCheck(settings.accessToken)
  const log = parts.log

  let document: (() => Promise<Response>) | undefined
  // The core's group comes first: the document lists its paths first, as it always has.
  const groups: Group[] = [
    {
      name: 'core',
      prefixes: ['/openapi.json', '/ping', '/capabilities', '/docs'],
      routes: async () =>
        (await import('./routes')).coreRoutes(async () => {
          // The document covers every route: it builds every group first.
          const all = await Promise.all(groups.map(load))
          document ??= (await import('./mount')).documentOf(all)
          return document()
        }),
    },
  ]
  for (const section of parts.plugins) {
    const prefixes = sectionPrefixes(section)
    if (section.opensLate) {
      // Not open yet (lazy): its group opens it, and a request under it waits for that.
      groups.push({
        name: section.name,
        prefixes,
        routes: async () => {
          const open = await sections.opened(section)
          if (!open.routes) throw new Error(`section ${section.name} opens late but gives no routes`)
          return open.routes()
        },
        direct: async () => {
          const open = await sections.opened(section)
          return (await open.direct?.()) ?? []
        },
      })
      continue
    }
    const open = sections.get(section)
    const routes = open.routes
    const direct = open.direct
    if (routes)
      groups.push({
        name: section.name,
        prefixes,
        routes: () => routes.call(open),
        direct: direct && (() => direct.call(open)),
      })
  }
  // Every route lives beneath one of these: the server matches them on the target as sent
  // (core/raw-target.ts), and a --max-requests refusal names requests by them.
  const prefixes = groups.flatMap(g => g.prefixes)

  /** Builds a group's routes once; a failed build is tried again by the next request. */
  function load(group: Group): Promise<Mounted> {
    if (group.mounted) return Promise.resolve(group.mounted)
    group.loading ??= (async () => {
      const [{ mount }, routes, direct] = await Promise.all([import('./mount'), group.routes(), group.direct?.()])
      const mounted = mount(group.name, group.prefixes, routes, log, direct)
      // Routes reach the server (for server.upgrade) through their app.
      mounted.app.server = server as AnyElysia['server']
      return (group.mounted = mounted)
    })().catch(err => {
      group.loading = undefined
      throw err
    })
    return group.loading
  }

  /** Builds a request is waiting for: the background builds let them go first. */
  const demanded = new Set<Promise<Mounted>>()

  /** The group's routes, for a request, waited for within LOAD_LIMIT_MS. */
  async function loaded(group: Group): Promise<Mounted> {
    const building = load(group)
    demanded.add(building)
    void building.then(
      () => demanded.delete(building),
      () => demanded.delete(building),
    )
    const mounted = await within(building, LOAD_LIMIT_MS)
    if (mounted === 'timeout') {
      throw new ExecdError('SERVICE_UNAVAILABLE', `the ${group.name} routes are still being built; retry`)
    }
    return mounted
  }

  // A request asks for its group up to three times (the front door's readiness, its direct
  // route and shape, the handler): the last answer is kept for the next ask of the same path.
  let lastPath: string | undefined
  let lastGroup: Group | undefined
  const groupOf = (path: string): Group | undefined => {
    if (path !== lastPath) {
      lastGroup = groups.find(g => g.prefixes.some(p => under(path, p)))
      lastPath = path
    }
    return lastGroup
  }

  /**
   * GET /ping is answered here, before any group: it never waits for the core group's build,
   * which loads Elysia and the core routes (11–17 ms of CPU, all of it before the first /ping
   * of a start while the front door waited for it).
   */
  const isPing = (method: string, path: string) => path === '/ping' && method === 'GET'

  /** A request past the token check: the front door's (which made that check) and app.handle's. */
  const route = (request: Request, path: string): Response | Promise<Response> => {
    log.debug('request', { method: request.method, path })
    if (isPing(request.method, path)) return emptyOk()
    const group = groupOf(path)
    if (!group) return notFound(request)
    if (group.mounted) return group.mounted.handle(request)
    return loaded(group).then(m => m.handle(request))
  }

  /** A request as it comes, for callers other than the front door: app.handle() alone is never open. */
  const handle = (request: Request): Response | Promise<Response> => {
    const path = pathOf(request.url)
    if (!checkToken(request.headers) && !isDocsAsset(request.method, path)) return unauthorized()
    return route(request, path)
  }

  /**
   * Builds every group, one per event-loop turn, so that a request never waits behind them all;
   * a group a request is waiting for is built first (the builds share the one thread).
   */
  async function loadAll(): Promise<void> {
    await learnOpenFilesLimit()
    for (const group of groups) {
      while (demanded.size > 0) await Promise.allSettled(demanded)
      await load(group)
      await nextTurn()
    }
  }

  const token = settings.accessToken
  const fetch = createFrontDoor(route, {
    token,
    origin: {
      checkHost: !token,
      allowedHosts: listOption(settings.allowedHost),
      allowedOrigins: listOption(settings.allowedOrigin),
    },
    body: { maxBytes: settings.maxJsonBytes, timeoutMs: settings.bodyTimeout },
    maxRequests: settings.maxRequests,
    log,
    kindOf: routeGroups(prefixes),
    streams: () => ctx.streams.held(),
    downloads: () => ctx.downloads.held(),
    refused: () => ctx.downloads.requests.refused(),
    rawPrefixes: parts.plugins.flatMap(p => p.rawBodyPrefixes ?? []),
    // The front door reads a JSON body by its route's declared shape: the group is built first.
    ready(method, path) {
      const group = isPing(method, path) ? undefined : groupOf(path)
      return group && !group.mounted ? loaded(group).then(() => undefined) : undefined
    },
    shapeOf: (method, path) => groupOf(path)?.mounted?.shapeOf(method, path),
    schemaOf: (method, path) => groupOf(path)?.mounted?.schemaOf(method, path),
    directOf: (method, path) => groupOf(path)?.mounted?.directOf(method, path),
  })

  const app = {
    handle,
    /** The routes of the groups built so far (every route once `loadAll()` is done). */
    get routes() {
      return groups.flatMap(g => g.mounted?.routes ?? [])
    },
    get server() {
      return server
    },
    set server(value: unknown) {
      server = value
      for (const g of groups) if (g.mounted) g.mounted.app.server = value as AnyElysia['server']
    },
  }
  if (!lazy) await loadAll()
  return { app, ctx, fetch, prefixes, loadAll, sections, close: () => sections.close() }
}
