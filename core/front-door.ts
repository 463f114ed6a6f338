/**
 * What every request passes before the app sees it, in this order, each step cheap and none
 * parsing what the previous one has not admitted: the request head's size (431), the number
 * of requests in flight (503), the browser defences (403, core/origin.ts), the access token
 * (401), and for JSON routes the body's size, time, encoding, nesting and syntax
 * (core/body.ts). A refusal closes the connection, so a client that announced a body it never
 * sends cannot hold the socket (1,100 such connections once exhausted the fd limit).
 */
import type { TSchema } from '@sinclair/typebox'
import { answeredFor } from './answering'
import { createTokenCheck, unauthorized } from './auth'
import { isDocsAsset } from './docs'
import { checkShape, parseJsonBody, readRequestText, type BodyLimits, type HeldBytes, type JsonShape } from './body'
import { ExecdError, errorResponse, toExecdError } from './errors'
import { handedTarget } from './host-target'
import { createOriginGuard, type OriginPolicy } from './origin'
import { badPercentRun } from './percent-utf8'
import type { Held } from './held-slots'
import type { Logger } from './log'
import { LogThrottle } from './log-throttle'
import { dropNullOptionals } from './null-members'
import type { DirectRoute } from './plugin'
import { RequestsInFlight } from './requests-in-flight'

/**
 * Our limit on the request line plus headers; the executable's native limit is set higher
 * (Makefile: --max-http-header-size) so that this one answers first, with the contract's JSON.
 */
export const MAX_HEAD_BYTES = 64 * 1024

interface FrontDoorOptions {
  token?: string
  origin: OriginPolicy
  body: BodyLimits
  /** Requests in flight (streams included) before new ones get 503; 0 = no limit. */
  maxRequests: number
  /** Where a refusal at `maxRequests` says who held it (core/requests-in-flight.ts). */
  log?: Logger
  /** The route group of a path (`POST /files`), naming requests in that line. */
  kindOf?(method: string, path: string): string
  /** Who holds the streams and the downloads, the requests that answered and still send: in that line too. */
  streams?(): Held
  downloads?(): Held
  /** Told of each such refusal: it may end an answer the stall rule sees stalled (core/slot-wants.ts). */
  refused?(): void
  /** Prefixes whose bodies are passed through untouched (the proxy). */
  rawPrefixes: readonly string[]
  /** Resolves once the routes of `method path` are built, when they are not yet (core/app.ts). */
  ready?(method: string, path: string): Promise<void> | undefined
  /** The JSON shape a route's body schema declares, if any. */
  shapeOf(method: string, path: string): JsonShape | undefined
  /** The schema a route declares for its JSON body, if any: its optional members' nulls are dropped. */
  schemaOf?(method: string, path: string): TSchema | undefined
  /** The route answered here rather than by the app, for a body it accepts (core/plugin.ts). */
  directOf?(method: string, path: string): DirectRoute | undefined
}

/** Answers an admitted request; `path` is its URL's path, found once by the front door. */
type Handler = (request: Request, path: string) => Response | Promise<Response>
type FrontDoor = (request: Request, server?: { readonly pendingRequests: number }) => Promise<Response> | Response

export function createFrontDoor(handle: Handler, opts: FrontDoorOptions): FrontDoor {
  const checkToken = createTokenCheck(opts.token)
  const guard = createOriginGuard(opts.origin)
  const refuse = (e: ExecdError) => closing(errorResponse(e))
  const inFlight = new RequestsInFlight(opts.maxRequests, opts.kindOf ?? (method => method))
  const refusals = new LogThrottle()

  return (request, server) => {
    const url = request.url
    if (headBytes(request, url) > MAX_HEAD_BYTES) {
      return refuse(new ExecdError('HEADERS_TOO_LARGE', `request line and headers exceed ${MAX_HEAD_BYTES} bytes`))
    }
    if (opts.maxRequests > 0 && server && server.pendingRequests > opts.maxRequests) {
      const error = `limit reached: at most ${opts.maxRequests} requests in flight (--max-requests); retry later or raise the limit`
      const skipped = opts.log && refusals.admit(error)
      if (skipped !== undefined)
        opts.log?.warn('request refused', {
          path: pathOf(url),
          error,
          skipped,
          held: inFlight.held(server.pendingRequests),
          streams: opts.streams?.(),
          downloads: opts.downloads?.(),
        })
      opts.refused?.()
      return refuse(new ExecdError('SERVICE_UNAVAILABLE', error))
    }
    const refused = guard(request.headers)
    if (refused) return refuse(new ExecdError('FORBIDDEN', refused))
    // The explorer's static files load without the token: the page is where one types it. Their
    // connection is not kept: kept, it stayed open for Bun's idleTimeout (120 s) per file asked
    // for, where a connection that never sent a request is closed within 10-14 s — a flood of
    // connections held execd's fds ten times longer for one tokenless GET each.
    const tokenless = !checkToken(request.headers)
    let path = pathOf(url)
    if (tokenless && !isDocsAsset(request.method, path)) return closing(unauthorized())

    // Bun gives only the target when the Host header is unusable (empty, `a b`), and a URL
    // nothing parses when the URL parser refuses the Host (core/host-target.ts): route it anyway,
    // by the target core/raw-target.ts found for it.
    const target = url.startsWith('http://') || url.startsWith('https://') ? handedTarget(request) : url
    if (target !== undefined) {
      if (!target.startsWith('/')) return refuse(new ExecdError('INVALID_REQUEST_BODY', 'unsupported request target'))
      const received = request
      request = new Request(`http://localhost${target}`, request)
      answeredFor(request, received)
      // The URL parser resolves dot segments: route what the request now says.
      path = pathOf(request.url)
    }
    // What the URL parser would decode into U+FFFD names another file than the one sent; the
    // proxy's targets are the upstream's to judge.
    const bad = url.includes('%') && !rawTarget(path, opts.rawPrefixes) ? badPercentRun(url) : undefined
    if (bad)
      return refuse(
        new ExecdError(
          'INVALID_REQUEST_BODY',
          `invalid request target: ${bad} is not UTF-8 (the URL parser would make it U+FFFD, another name); send a path that is not UTF-8 as path_base64`,
        ),
      )
    const building = opts.ready?.(request.method, path)
    const admitted = request
    let answer = building
      ? building.then(() => admit(handle, admitted, path, opts), failed)
      : admit(handle, request, path, opts)
    if (answer instanceof Promise) answer = inFlight.track(request.method, path, answer)
    if (!tokenless) return answer
    return answer instanceof Promise ? answer.then(closing) : closing(answer)
  }
}

/**
 * Past the checks: the request, its JSON body read first if its route declares or takes one.
 * A direct route is looked up first and alone: it is a JSON route, and a body it takes has its
 * shape, so the hot POSTs (/code, /command) look their route up once. The declared shape is
 * looked up only for another route, or for a body the direct route refuses.
 */
function admit(handle: Handler, request: Request, path: string, opts: FrontDoorOptions): Response | Promise<Response> {
  // isJsonBody's steps in its order, written out: its callback for the route's declaration was
  // two closures made on every request.
  if (!mayHaveJson(request, opts.rawPrefixes, path)) return safely(handle, request, path)
  // No query string: a direct route's answer depends on its body alone.
  const direct = request.url.includes('?') ? undefined : opts.directOf?.(request.method, path)
  if (direct) return readJson(handle, request, path, opts, direct, undefined)
  const shape = opts.shapeOf(request.method, path)
  if (shape === undefined && !typedAsJson(request)) return safely(handle, request, path)
  return readJson(handle, request, path, opts, undefined, shape)
}

/** `/files` holds `/files` and `/files/…`, not `/filesx`. */
export const under = (path: string, prefix: string): boolean =>
  path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47)

/** The contract's 404 for a path no route serves. */
export const notFound = (request: Request): Response =>
  errorResponse(new ExecdError('NOT_FOUND', `route not found: ${request.method} ${pathOf(request.url)}`))

/** The path of an absolute URL or of a bare target, without touching `new URL` (it throws). */
export function pathOf(url: string): string {
  const start = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  const q = url.indexOf('?', start)
  return q < 0 ? url.slice(start) : url.slice(start, q)
}

/**
 * The reference decodes every request body as JSON whatever its Content-Type, and clients rely
 * on it: `curl -d '{...}'` sends form encoding, some send none. A route that declares a JSON
 * body (`declaresJson`) gets any body read as JSON, as the reference does: otherwise
 * `{bad` sent as application/xml to a route whose body is optional was ignored, and the
 * session created without its `cwd`. Elsewhere multipart and other typed bodies keep their
 * type (uploads), and a plugin's raw prefixes (the proxy) are never touched.
 */
export function isJsonBody(
  request: Request,
  rawPrefixes: readonly string[] = [],
  declaresJson: () => boolean = () => false,
  path = pathOf(request.url),
): boolean {
  if (!mayHaveJson(request, rawPrefixes, path)) return false
  return declaresJson() || typedAsJson(request)
}

/** A request with a body, outside every raw prefix: JSON if its route declares it or its type allows. */
function mayHaveJson(request: Request, rawPrefixes: readonly string[], path: string): boolean {
  if (request.method === 'GET' || request.method === 'HEAD' || !hasBody(request)) return false
  // A loop, not some(): no closure per request.
  for (const prefix of rawPrefixes) if (path.startsWith(prefix)) return false
  return true
}

/** Under a raw prefix (the proxy): the request goes on as it came. */
function rawTarget(path: string, rawPrefixes: readonly string[]): boolean {
  for (const prefix of rawPrefixes) if (path.startsWith(prefix)) return true
  return false
}

/** A Content-Type a body is read as JSON with when its route declares none: none, JSON, form, text. */
function typedAsJson(request: Request): boolean {
  const [mime = ''] = (request.headers.get('content-type') ?? '').split(';')
  const type = mime.trim().toLowerCase()
  return (
    type === '' || type === 'application/json' || type === 'application/x-www-form-urlencoded' || type === 'text/plain'
  )
}

/**
 * Whether a request has a body, without making its stream where a header tells: reading
 * `request.body` builds a ReadableStream, and a read of the body after it costs more too
 * (~3 us of a warm cell in all, measured on a bare Bun.serve). A request off the wire with a
 * Content-Length of 1 or more has one (Bun refuses a malformed length with a 400 itself);
 * anything else (chunked, no length, a request made in-process) is asked as before.
 */
function hasBody(request: Request): boolean {
  return Number(request.headers.get('content-length')) > 0 || request.body !== null
}

async function readJson(
  handle: Handler,
  request: Request,
  path: string,
  opts: FrontDoorOptions,
  direct: DirectRoute | undefined,
  /** The route's declared shape; for a direct route, looked up only if it refuses the body. */
  shape: JsonShape | undefined,
): Promise<Response> {
  let read: string | string[]
  const held: HeldBytes = { release: () => {} }
  try {
    read = await readRequestText(request, opts.body, held)
  } catch (err) {
    return closing(errorResponse(toExecdError(err)))
  }
  // An empty body stays what it was (acceptable where the body is optional).
  if (typeof read === 'string' ? read.trim() === '' : read.every(part => part.trim() === '')) {
    held.release()
    const empty = new Request(request.url, {
      method: request.method,
      headers: bodyless(request),
      signal: request.signal,
    })
    return safely(handle, empty, path)
  }
  let body: unknown
  let dropped: boolean
  try {
    // A large body in turns: one parse of 16 MiB held the loop 110-180 ms. Its module is loaded
    // for the first such body: a start that listens loads none of what it imports.
    try {
      body =
        typeof read === 'string' ? parseJsonBody(read) : await (await import('./json-in-turns')).parseJsonInTurns(read)
    } finally {
      held.release()
    }
    // A null that stands for an absent member, as the reference reads it (core/null-members.ts);
    // the text is made again only when one was dropped, for the route's own parse of it.
    dropped =
      (typeof read !== 'string' || read.includes('null')) &&
      dropNullOptionals(opts.schemaOf?.(request.method, path), body)
    // A body the direct route accepts is of its schema, hence of its shape: no check needed.
    // Its answer is awaited here, its failure caught by this catch (failed's rendering): passed
    // on through safely() it cost a catch promise and the async function's adoption of it, ~1.5k
    // instructions of a warm cell (bench/request-instructions.ts).
    if (direct?.accepts(body)) return await direct.handle(body, request)
    checkShape(body, direct ? opts.shapeOf(request.method, path) : shape)
  } catch (err) {
    return errorResponse(toExecdError(err))
  }
  const headers = bodyless(request)
  headers.set('content-type', 'application/json')
  // The body goes on parsed to a route that declares JSON (Elysia's request.json() is the
  // value), and any body parsed here in turns: given its text again, the route's own parse was
  // a second JSON.parse of the whole, and one with a null dropped was stringified first.
  if (typeof read !== 'string' || direct || shape !== undefined)
    return safely(handle, new ParsedRequest(request, headers, body), path)
  // A route that declares no body, typed as JSON (an upload sent so): its text, as sent.
  const text = dropped ? JSON.stringify(body) : read
  const parsed = new Request(request.url, { method: request.method, headers, body: text, signal: request.signal })
  return safely(handle, parsed, path)
}

/**
 * The request as the app gets it with a body the front door parsed: its `json()` (what
 * Elysia's JSON parser calls) is that value. A 15.9 MiB cell to a route asked with a query string
 * (no direct route) or to a route that has none held the loop 285 ms on CPU, Elysia's parse of
 * the text made again; 60 ms without a query. Its own body is a placeholder the app never reads.
 */
class ParsedRequest extends Request {
  readonly #value: unknown

  constructor(request: Request, headers: Headers, value: unknown) {
    super(request.url, { method: request.method, headers, body: 'null', signal: request.signal })
    this.#value = value
  }

  override json(): Promise<any> {
    return Promise.resolve(this.#value)
  }
}

/** The request's headers for a copy of it whose body is re-made (or absent). */
function bodyless(request: Request): Headers {
  const headers = new Headers(request.headers)
  headers.delete('content-length')
  headers.delete('transfer-encoding')
  return headers
}

/**
 * `answer(a, b)`, its failure rendered as the contract's JSON. An answer made at once stays a
 * Response, not a promise of one: Bun sends a Response the fetch handler returns there and
 * then, where a promise costs it a reaction and a turn of the microtask queue (GET /ping).
 */
function safely<A, B>(answer: (a: A, b: B) => Response | Promise<Response>, a: A, b: B): Response | Promise<Response> {
  try {
    const res = answer(a, b)
    return res instanceof Promise ? res.catch(failed) : res
  } catch (err) {
    return failed(err)
  }
}

const failed = (err: unknown): Response => errorResponse(toExecdError(err))

function closing(res: Response): Response {
  res.headers.set('connection', 'close')
  return res
}

function headBytes(request: Request, url: string): number {
  let n = request.method.length + url.length
  request.headers.forEach((value, name) => {
    n += name.length + value.length + 4
  })
  return n
}
