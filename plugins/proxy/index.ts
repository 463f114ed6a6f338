/**
 * The proxy section (CONTRACT §4): `/proxy/<port>/<path>` with any method reaches
 * http://127.0.0.1:<port>/<path> with the query unchanged, bodies streamed both ways,
 * WebSocket upgrades relayed. The token check has already run (core/app.ts). Its caps and what
 * its relays hold queued are its instance's (ops.ts).
 */
import { ConfigError, optionSpecs, settingsOf, type Config } from '../../core/config'
import type { Section } from '../../core/plugin'
import type { ProxyOps } from './ops'
import { MAX_PROXY_REQUESTS, OPTIONS } from './options'

/** The proxy's settings; a cap of 0 or past the HTTP client's own would let requests queue unanswered. */
function proxySettings(config: Config) {
  const settings = settingsOf(config, OPTIONS)
  if (settings.maxRequests < 1 || settings.maxRequests > MAX_PROXY_REQUESTS)
    throw new ConfigError(
      `option --max-proxy-requests must be from 1 to ${MAX_PROXY_REQUESTS}, got ${settings.maxRequests}`,
    )
  return settings
}

export const proxy: Section<ProxyOps> = {
  name: 'proxy',
  options: optionSpecs(OPTIONS),
  rawBodyPrefixes: ['/proxy/'],
  opensLate: true,
  check: config => void proxySettings(config),
  async open(ctx) {
    const { ProxyOps } = await import('./ops')
    const ops = new ProxyOps(proxySettings(ctx.config))
    return { ops, routes: async () => (await import('./routes')).proxyRoutes(ops), held: () => ops.held() }
  },
}
