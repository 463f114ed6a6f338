/**
 * The request target as it was sent, where only that tells what was asked. Bun builds
 * `request.url` with the URL parser, which resolves `.` and `..` segments (their `%2e` spellings
 * too) and reads `\` as `/`: `GET /proxy/8080/%2e%2e/%2e%2e/files/download?path=…` reached
 * execd's own /files/download, and `/proxy/8080/%2e%2e/9090/` (or `/proxy/8080\..\9090/`) port
 * 9090. A gateway that hands the world `/proxy/8080/` with the token added — the one prefix
 * meant for other people's traffic — handed it every route and port.
 *
 * Nor may a target reach a route it was not sent under. nginx (`location /proxy/8080/` with
 * `proxy_pass http://execd;`) matches the path after decoding every `%XX` and resolving dot
 * segments, then forwards the target as sent; Bun decodes no `%2F`. So
 * `/a%2F%2e%2e%2Fproxy%2F8080%2Fb%2Fc/%2e%2e/%2e%2e/files/info` was `/proxy/8080/files/info`
 * to nginx and execd's own `/files/info` to execd. Clients (fetch, curl, browsers) resolve dot
 * segments before they send; only a raw socket or an unresolved `%2e%2e` spells these.
 *
 * Bun's `routes` match the raw bytes: every route prefix is a route, whose request the parser
 * must leave beneath that prefix; every other target (the fallback) must not be led beneath one.
 */
import type { Server } from 'bun'
import { errorResponse, ExecdError } from './errors'
import { pathOf, under } from './front-door'
import { handOnTarget, refusedHostTarget } from './host-target'

type Fetch = (request: Request, server: Server<any>) => Response | undefined | Promise<Response | undefined>

/**
 * The path the app routes `url` by: with a Host Bun cannot use (empty, `a b`) `url` is the target
 * as sent. A target found for a Host the parser refused is handed on with `request`, if given:
 * the front door routes by it without judging the Host again.
 */
function routedPath(url: string, request?: Request): string | undefined {
  // A Host the URL parser refuses leaves a URL routed by its target (core/host-target.ts).
  const target = url.startsWith('/') ? url : refusedHostTarget(url)
  if (target === undefined) return pathOf(url)
  if (request && target !== url) handOnTarget(request, target)
  // Resolved here as the front door routes it (core/front-door.ts). A target no parser takes is its to refuse.
  try {
    return new URL(target, 'http://localhost').pathname
  } catch {
    return undefined
  }
}

/** Whether the URL parser took a request sent as `/proxy/<rawPort>/…` outside that prefix. */
export function leavesProxyPrefix(url: string, rawPort: string): boolean {
  const path = routedPath(url)
  return path !== undefined && !under(path, `/proxy/${rawPort}`)
}

/** The prefix of `prefixes` that the parser led `url` beneath, sent as something else. */
export function enteredPrefix(url: string, prefixes: readonly string[], request?: Request): string | undefined {
  const path = routedPath(url, request)
  return path === undefined ? undefined : prefixes.find(p => under(path, p))
}

const shown = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}…` : text)
const leaving = (prefix: string) =>
  new ExecdError(
    'INVALID_REQUEST_BODY',
    `the request target leaves ${shown(prefix)}/ by a dot segment or a backslash ('..', '%2e%2e', '\\'): send the path the ${prefix.startsWith('/proxy/') ? 'upstream should get' : 'route should get'}, without them`,
  )
const entering = (prefix: string) =>
  new ExecdError(
    'INVALID_REQUEST_BODY',
    `the request target reaches ${shown(prefix)} only by a dot segment or a backslash ('.', '..', '%2e', '\\'): send ${shown(prefix)}… as it is`,
  )

/**
 * Bun.serve's `routes` and `fetch`. `/proxy/<port>/…` as sent stays beneath its port, and a
 * target sent beneath any other prefix of `prefixes` beneath that prefix; a target sent beneath
 * none reaches none. A caller without the token is `fetch`'s to answer (its 401), as on every route.
 */
export function rawTargetServe(fetch: Fetch, tokenOk: (headers: Headers) => boolean, prefixes: readonly string[]) {
  const stays =
    (prefixOf: (request: Request & { params: Record<string, string> }) => string) =>
    (request: Request & { params: Record<string, string> }, server: Server<any>) => {
      const prefix = prefixOf(request)
      const path = routedPath(request.url, request)
      return path !== undefined && !under(path, prefix) && tokenOk(request.headers)
        ? errorResponse(leaving(prefix))
        : fetch(request, server)
    }
  const routes: Record<string, ReturnType<typeof stays>> = {}
  for (const prefix of prefixes) {
    const checked = stays(() => prefix)
    routes[prefix] = checked
    routes[`${prefix}/*`] = checked
  }
  // Both: `/proxy/8080\..\..\files` is one segment after the prefix as sent.
  const proxied = stays(request => `/proxy/${request.params.port}`)
  routes['/proxy/:port'] = proxied
  routes['/proxy/:port/*'] = proxied
  const fallback: Fetch = (request, server) => {
    const prefix = enteredPrefix(request.url, prefixes, request)
    return prefix !== undefined && tokenOk(request.headers) ? errorResponse(entering(prefix)) : fetch(request, server)
  }
  return { routes, fetch: fallback }
}
