/**
 * What the proxy's routes document. The body and query are the upstream's, passed through
 * unparsed, so there is no request schema: only the methods served and the errors of our own.
 */
import { errors } from '../../core/responses'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const

/** A fresh object per route: the OpenAPI builder may annotate what it is given. */
export const proxyErrors = () => ({
  // Any status, as the upstream answered: `default` is OpenAPI's word for "whatever it sends".
  default: { description: "the upstream's response: its status, headers and body as it sent them" },
  ...errors({
    400: 'port is required (or not a port number); a target sent beneath /proxy/{port}/ whose dot segments or backslashes lead elsewhere; a WebSocket handshake Bun would not upgrade (Sec-WebSocket-Key not 16 bytes in base64, Sec-WebSocket-Version not 13), refused before the upstream is dialed',
    502: 'BAD_GATEWAY: nothing answered on that port, the upstream sent no response head within --proxy-response-timeout, or, for a WebSocket upgrade, did not answer its handshake within --proxy-handshake-timeout',
    503: 'SERVICE_UNAVAILABLE: --max-proxy-requests proxied requests already in flight (--max-proxy-websockets relays open, for a WebSocket upgrade)',
  }),
})
