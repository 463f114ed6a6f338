/**
 * The shapes a stream of events is given to `sseResponse` in (core/sse.ts) and what it is told
 * of it: apart from the writer so that a module naming them loads none of it.
 */
import type { ExecEvent } from './events'

/**
 * An event with the id it has in a journal; bare events get ids counted per stream. An event
 * type of its own must not have an object-valued `event` key (it would read as an item).
 */
export interface SseItem<E = ExecEvent> {
  id?: number
  event: E
}

/** Payload of one frame. It also encodes the writer's own events (a failure, a shutdown). */
export type SseEncoder<E> = (event: E | ExecEvent) => string

export interface SseOptions<E = ExecEvent> {
  /** Keepalive interval; 0 disables. */
  pingMs?: number
  headers?: Record<string, string>
  /** Called once when the stream ends for any reason (done, client gone, shutdown). */
  onClose?: () => void
  /** Payload encoder; default: the ExecEvent key order of CONTRACT §2. */
  encode?: SseEncoder<E>
  /** A slot of the app's streams taken before the work began; else one is taken here. */
  slot?: () => void
  /** The route the stream answers, naming its slot when the pool is reported (core/held-slots.ts). */
  route?: string
  /** The request answered: a stream is under the stall rule while it is sent (core/streams.ts guard). */
  request?: Request
  /**
   * How long the response may wait for the source to end so that it goes out whole, in one
   * write (see SseWriter.gather); 0: only what is ready now.
   */
  holdMs?: number
  /**
   * Settles once the source has produced its last event (it is readable now): the hold then
   * waits on this one promise instead of racing a timer against every event.
   */
  ended?: Promise<unknown>
  /**
   * Settles once the source has more to say than its start (a command's first output): until
   * then, the hold for `ended` may go on past `holdMs` (core/sse.ts QUIET_WORK_HOLD_MS).
   */
  spoke?: Promise<unknown>
}
