/**
 * The proxy section (CONTRACT §4): `/proxy/<port>/<path>` with any method reaches
 * http://127.0.0.1:<port>/<path> with the query unchanged, bodies streamed both ways,
 * WebSocket upgrades relayed. The token check has already run (core/app.ts). Stateless.
 */
import type { Section } from '../../core/plugin'
import type { proxyRequest } from './ops'

export const proxy: Section<{ proxyRequest: typeof proxyRequest }> = {
  name: 'proxy',
  rawBodyPrefixes: ['/proxy/'],
  opensLate: true,
  async open() {
    const { proxyRequest } = await import('./ops')
    return { ops: { proxyRequest }, routes: async () => (await import('./routes')).proxyRoutes() }
  },
}
