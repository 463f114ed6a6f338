/**
 * The request target as it was sent, where only that tells what was asked. Bun builds
 * `request.url` with the URL parser, which resolves `.` and `..` segments (their `%2e` spellings
 * too) and reads `\` as `/`: `GET /proxy/8080/%2e%2e/%2e%2e/files/download?path=…` reached
 * execd's own /files/download, and `/proxy/8080/%2e%2e/9090/` (or `/proxy/8080\..\9090/`) port
 * 9090. A gateway that hands the world `/proxy/8080/` with the token added — the one prefix
 * meant for other people's traffic — handed it every route and port. Clients (fetch, curl,
 * browsers) resolve dot segments before they send, so only a raw socket or an unresolved
 * `%2e%2e` spells these. Bun's `routes` still match the raw bytes: a route on the proxy's
 * prefix sees the port as sent, and can tell where the parser took the request instead.
 */
import type { Server } from 'bun'
import { errorResponse, ExecdError } from './errors'

type Fetch = (request: Request, server: Server<any>) => Response | undefined | Promise<Response | undefined>

/** Whether the URL parser took a request sent as `/proxy/<rawPort>/…` outside that prefix. */
export function leavesProxyPrefix(url: string, rawPort: string): boolean {
  // With a Host Bun cannot use (empty, `a b`) `url` is the target alone, as sent: resolved here
  // as the front door routes it (core/front-door.ts). A target no parser takes is its to refuse.
  let path: string
  try {
    path = new URL(url, 'http://localhost').pathname
  } catch {
    return false
  }
  const prefix = `/proxy/${rawPort}`
  return !(path === prefix || path.startsWith(`${prefix}/`))
}

const refusal = (rawPort: string) =>
  new ExecdError(
    'INVALID_REQUEST_BODY',
    `the request target leaves /proxy/${rawPort.length > 40 ? `${rawPort.slice(0, 40)}…` : rawPort}/ by a dot segment or a backslash ('..', '%2e%2e', '\\'): send the path the upstream should get, without them`,
  )

/**
 * Bun.serve's `routes`: `/proxy/<port>/…` as sent, refused when the parser leads it elsewhere,
 * else `fetch`. A caller without the token is `fetch`'s to answer (its 401), as on every route.
 */
export function rawTargetRoutes(fetch: Fetch, tokenOk: (headers: Headers) => boolean) {
  const checked = (request: Request & { params: { port: string } }, server: Server<any>) =>
    leavesProxyPrefix(request.url, request.params.port) && tokenOk(request.headers)
      ? errorResponse(refusal(request.params.port))
      : fetch(request, server)
  // Both: `/proxy/8080\..\..\files` is one segment after the prefix as sent.
  return { '/proxy/:port': checked, '/proxy/:port/*': checked }
}
