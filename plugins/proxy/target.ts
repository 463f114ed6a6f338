/**
 * Where a `/proxy/<port>/<rest>` request goes, and which headers travel with it. Shared by
 * the HTTP and the WebSocket halves of the proxy.
 */
import { TOKEN_HEADER } from '../../core/auth'

const PROXY_PREFIX = '/proxy/'

/** Connection-scoped headers (RFC 9110 §7.6.1): never forwarded by a proxy. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

export interface ProxyTarget {
  port: string
  /** Path and query on the upstream, e.g. `/a/b?x=1`. */
  pathAndQuery: string
}

/**
 * Splits the raw request URL as the reference does: the first segment after `/proxy/` is the
 * port, the rest (or `/`) the upstream path, the query copied verbatim. Null: no port.
 */
export function parseTarget(url: string): ProxyTarget | null {
  const u = new URL(url)
  const rest = u.pathname.slice(PROXY_PREFIX.length)
  const slash = rest.indexOf('/')
  const port = slash < 0 ? rest : rest.slice(0, slash)
  if (!port) return null
  return { port, pathAndQuery: (slash < 0 ? '/' : rest.slice(slash)) + u.search }
}

/** A port worth dialing; anything else is the caller's 400 (plugins/proxy/ops.ts). */
export const validPort = (port: string): boolean => /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536

/** Strips headers for the caller only: hop-by-hop ones, those named by Connection. */
export function withoutHopByHop(headers: Headers): Headers {
  const out = new Headers(headers)
  for (const name of out.get('connection')?.split(',') ?? []) out.delete(name.trim())
  for (const name of HOP_BY_HOP) out.delete(name)
  return out
}

/**
 * Request headers for the upstream: execd's access token stays here (the reference leaks
 * it to every proxied service), Host becomes the upstream's, X-Forwarded-* say who asked.
 */
export function upstreamHeaders(incoming: Headers, peerIp: string | undefined): Headers {
  const out = withoutHopByHop(incoming)
  out.delete(TOKEN_HEADER)
  out.delete('host')
  out.delete('x-forwarded-host')
  const prior = incoming.get('x-forwarded-for')
  const chain = [prior, peerIp].filter(Boolean).join(', ')
  if (chain) out.set('x-forwarded-for', chain)
  out.set('x-forwarded-proto', 'http')
  return out
}
