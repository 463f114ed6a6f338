/**
 * Browser defences (CONTRACT §1, Auth). A web page can make a browser send a
 * "simple" cross-site POST (Content-Type: text/plain) without a preflight, and DNS rebinding
 * lets it read the answers; without a token that would let any page run commands. So a request
 * whose `Origin` is present and not our own origin is refused, and without a token so is one
 * whose `Host` does not name loopback or an `--allowed-host`. Clients that are not browsers
 * send no Origin and, with a token, are not affected.
 */
export interface OriginPolicy {
  /** Check Host too (no token: the Host header is all that stands between a page and us). */
  checkHost: boolean
  /** Extra Host values (`name` or `name:port`, or `*` for any), from --allowed-host. */
  allowedHosts: readonly string[]
  /** Extra origins (`http://name:port`, or `*`), from --allowed-origin. */
  allowedOrigins: readonly string[]
}

/** Splits a comma list option into lowercase entries. */
export const listOption = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map(s => s.trim().toLowerCase().replace(/\/+$/, ''))
    .filter(Boolean)

/** Returns why a request is refused, or undefined when it may proceed. */
export function createOriginGuard(policy: OriginPolicy): (headers: Headers) => string | undefined {
  const hosts = new Set(policy.allowedHosts)
  const origins = new Set(policy.allowedOrigins)
  const anyOrigin = origins.has('*')
  const anyHost = hosts.has('*')
  const hostAllowed = (host: string) =>
    anyHost || isLoopbackHost(host) || hosts.has(host) || hosts.has(hostnameOf(host))
  return headers => {
    const host = (headers.get('host') ?? '').toLowerCase()
    if (policy.checkHost && !hostAllowed(host)) {
      return `Host '${host}' is not a loopback address or an --allowed-host (no access token is set)`
    }
    const origin = headers.get('origin')
    if (origin === null) return undefined
    const o = origin.toLowerCase()
    if (o === `http://${host}` || anyOrigin || origins.has(o)) return undefined
    return `cross-origin request from '${origin}' refused (allow it with --allowed-origin)`
  }
}

/** `name` of `name:port` or `[v6]:port` (brackets kept, as in a URL). */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end < 0 ? host : host.slice(0, end + 1)
  }
  const colon = host.indexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

export function isLoopbackHost(host: string): boolean {
  const port = portOf(host)
  if (port === undefined) return false
  const name = hostnameOf(host)
  return name === 'localhost' || name === '[::1]' || IPV4_LOOPBACK.test(name)
}

/** '' when absent; undefined when the text after the name is no port at all. */
function portOf(host: string): string | undefined {
  const name = hostnameOf(host)
  const rest = host.slice(name.length)
  if (rest === '') return ''
  return /^:\d{1,5}$/.test(rest) ? rest.slice(1) : undefined
}
