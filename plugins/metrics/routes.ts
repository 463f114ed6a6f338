/** The metrics section's HTTP adapter: `GET /metrics` and `GET /metrics/watch` over `MetricsOps`. */
import { Elysia } from 'elysia'
import { json } from '../../core/errors'
import { errorSchemas, errors } from '../../core/responses'
import { sseResponse } from '../../core/sse'
import type { Streams } from '../../core/streams'
import type { MetricsOps } from './ops'
import { MetricsSchema } from './schema'

export function metricsRoutes(ops: MetricsOps, streams: Streams) {
  return new Elysia({ name: 'api/metrics', detail: { tags: ['metrics'] } })
    .get('/metrics', async () => json(await ops.snapshot()), {
      response: { 200: MetricsSchema, ...errorSchemas() },
      detail: { summary: 'CPU and memory now (cgroup-aware), answered from a background sampler' },
    })
    .get(
      '/metrics/watch', // Metrics frames carry the metrics object itself, as the reference's watch stream does.
      ({ request }) =>
        sseResponse(streams, ops.watch(), { pingMs: 0, encode: JSON.stringify, route: 'GET /metrics/watch', request }),
      {
        detail: {
          summary: 'One metrics sample per second as Server-Sent Events',
          responses: {
            200: { description: 'text/event-stream of Metrics objects' },
            ...errors({ 503: 'too many streams open at once' }),
          },
        },
      },
    )
}
