/**
 * The SSE streams of one app (or one CLI run): the cap on how many are open at once
 * (--max-streams, a 503 past it that names the limit) and the ones open now, which the app's
 * shutdown ends with an error event rather than cut. Made by core/app.ts with the app's
 * sections and handed to them in their context: a module-level cap was the last opened app's
 * (two apps in one process shared it, and a full one refused the other's streams), and a
 * shutdown ended every app's streams.
 */
import { errorEvent, type ExecEvent } from './events'
import type { Held } from './held-slots'
import { Capacity } from './limits'
import type { Wanted } from './slot-wants'

export class Streams {
  private readonly slots: Capacity
  private readonly open = new Set<(event: ExecEvent) => void>()

  /**
   * `max`: at most this many at once (0: no cap). `guard`: puts a stream's answer under the stall
   * rule (core/send-stall.ts) until the returned end is called: an unread stream held its slot
   * as long as its client kept the connection, Bun's idle timeout never closing it.
   */
  constructor(
    max: number,
    private readonly guardAnswer?: (request: Request, kind: string, pool: Wanted) => () => void,
  ) {
    this.slots = new Capacity('concurrent streams', max, 'max-streams')
  }

  /** Guards the answer to `request` while it streams; the returned function ends the guard. */
  guard(request: Request, route = ''): () => void {
    // A stream refused for want of a slot may end a stalled one (core/slot-wants.ts).
    return this.guardAnswer?.(request, route, this.slots) ?? (() => {})
  }

  /** Takes a stream slot for `route`, or throws the 503 that names the limit; the release is idempotent. */
  acquire(route = ''): () => void {
    return this.slots.acquire(route)
  }

  /** Who holds the slots (core/held-slots.ts), by route and age. */
  held(): Held {
    return this.slots.held()
  }

  /** An open stream: `end` is called with the shutdown's error event; the returned function forgets it. */
  track(end: (event: ExecEvent) => void): () => void {
    this.open.add(end)
    return () => void this.open.delete(end)
  }

  /** Ends every open stream with an error event (`ServerShutdown`). */
  closeAll(reason = 'execd is shutting down'): void {
    for (const end of [...this.open]) end(errorEvent('ServerShutdown', reason, [reason]))
  }

  /** Streams open now. */
  get openCount(): number {
    return this.open.size
  }
}
