/**
 * The proxy section's options, apart from its code: the CLI reads every option (plugins/options.ts)
 * without loading a section. Imports nothing but core/config (core/layout.test.ts checks it).
 */
import { intOption } from '../../core/config'

/**
 * Bun's HTTP client sends at most 256 requests at once and queues the rest, unanswered and
 * without a word, until one of those ends (BUN_CONFIG_MAX_HTTP_REQUESTS). The cap stays below
 * that, leaving the daemon's own requests (the Jupyter bridge) room.
 */
export const CLIENT_POOL = 256
export const MAX_PROXY_REQUESTS = CLIENT_POOL - 16

export const OPTIONS = {
  maxRequests: intOption('max-proxy-requests', {
    env: 'EXECD_MAX_PROXY_REQUESTS',
    description: `proxied HTTP requests in flight at once, 1 to ${MAX_PROXY_REQUESTS} (the HTTP client's own limit is ${CLIENT_POOL}); more are refused with 503`,
    default: 128,
  }),
  maxSockets: intOption('max-proxy-websockets', {
    env: 'EXECD_MAX_PROXY_WEBSOCKETS',
    description: 'proxied WebSocket connections open at once (0 = no limit); more are refused with 503',
    default: 256,
  }),
  handshakeTimeout: intOption('proxy-handshake-timeout', {
    env: 'EXECD_PROXY_HANDSHAKE_TIMEOUT_MS',
    description:
      'ms the upstream of a proxied WebSocket may take to answer its handshake; past it the caller gets 502 (0 = no limit)',
    default: 30000,
  }),
  responseTimeout: intOption('proxy-response-timeout', {
    env: 'EXECD_PROXY_RESPONSE_TIMEOUT_MS',
    description:
      'ms the upstream of a proxied HTTP request may take to send its response head (the body then takes as long as it takes); past it the caller gets 502 (0 = no limit)',
    default: 300000,
  }),
}
