/** The metrics section (CONTRACT §6): `GET /metrics` and `GET /metrics/watch`. */
import { Elysia } from 'elysia'
import { json } from '../../core/errors'
import type { ExecEvent } from '../../core/events'
import type { Plugin } from '../../core/plugin'
import { sseResponse } from '../../core/sse'
import { sampler, snapshot, watch } from './ops'
import { MetricsSchema } from './schema'

async function* watchEvents(): AsyncGenerator<ExecEvent> {
  // Metrics frames carry the metrics object itself, as the reference's watch stream does.
  for await (const m of watch()) yield m as unknown as ExecEvent
}

export const metrics: Plugin = {
  name: 'metrics',
  routes: () =>
    new Elysia({ name: 'api/metrics', detail: { tags: ['metrics'] } })
      .get('/metrics', async () => json(await snapshot()), {
        response: { 200: MetricsSchema },
        detail: { summary: 'CPU and memory now (cgroup-aware), answered from a background sampler' },
      })
      .get('/metrics/watch', () => sseResponse(watchEvents(), { pingMs: 0, encode: JSON.stringify }), {
        detail: {
          summary: 'One metrics sample per second as Server-Sent Events',
          responses: { 200: { description: 'text/event-stream of Metrics objects' } },
        },
      }),
  close: () => sampler.stop(),
}
