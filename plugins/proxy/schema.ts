/**
 * What the proxy's routes document. The body and query are the upstream's, passed through
 * unparsed, so there is no request schema: only the methods served and the errors of our own.
 */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const

/** A fresh object per route: the OpenAPI builder may annotate what it is given. */
export const proxyErrors = () => ({
  400: { description: 'JSON error `port is required`' },
  502: { description: 'JSON error `BAD_GATEWAY`: nothing answered on that port' },
})
