/** The metrics section (CONTRACT §6): `GET /metrics` and `GET /metrics/watch`. */
import type { Section } from '../../core/plugin'
import type { MetricsOps } from './ops'

export const metrics: Section<MetricsOps> = {
  name: 'metrics',
  opensLate: true,
  async open(ctx) {
    const { MetricsOps } = await import('./ops')
    const ops = new MetricsOps()
    return {
      ops,
      routes: async () => (await import('./routes')).metricsRoutes(ops, ctx.streams),
      close: () => ops.close(),
    }
  },
}
