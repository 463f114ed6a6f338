/**
 * A section's run as plain events for the CLI's local modes: items may be SSE items (an id and
 * an event; an output line's event decoded on demand from bytes valid only until the next item
 * is asked for), so each is unwrapped as it comes, never kept.
 */
import type { ExecEvent } from '../core/events'
import type { SseItem } from '../core/sse'

export async function* plainEvents(items: AsyncIterable<ExecEvent | SseItem>): AsyncGenerator<ExecEvent> {
  for await (const item of items)
    yield 'event' in item && typeof item.event === 'object' ? (item as SseItem).event : (item as ExecEvent)
}
