/**
 * Server-Sent Events responses (CONTRACT §2): headers committed only once the first event
 * exists (an earlier failure is a plain JSON error response), each stream in a slot of its
 * app's cap (core/streams.ts); the stream itself is core/sse-writer.ts.
 */
import type { ExecEvent } from './events'
import { errorResponse, toExecdError } from './errors'
import { sseTurns } from './fair'
import type { Streams } from './streams'
import { within } from './timers'
import type { SseEncoder, SseItem, SseOptions } from './sse-options'
import { SseWriter } from './sse-writer'

export { frame } from './sse-frames'
export type { SseItem } from './sse-options'

/**
 * `Connection: keep-alive` as the contract and the reference send it. Over HTTP/1.0 the stream is
 * delimited by the close and Bun closes the connection after it, so there the header is not kept;
 * a handler cannot see the request's version to leave it out (spec/http10-streams).
 *
 * One Headers made at load, handed to every SSE Response: Bun copies a Headers it is given (a
 * later `set` on one response's headers reaches neither the template nor another response), and
 * the copy is half the work of making one from a plain object, whose every name and value is
 * read and checked again per response — ~3.7k instructions of each short command's and warm
 * cell's answer (callgrind: 6.9k a Response with the four as an object, 3.2k with this; a
 * route's own header added to a copy, 4.5k against 8.7k).
 */
const SSE_HEADERS = new Headers({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
})

/** The SSE headers with the route's own added (POST /code's execution id): a copy of the template. */
function sseHeaders(extra: Record<string, string> | undefined): Headers {
  if (!extra) return SSE_HEADERS
  let headers: Headers | undefined
  for (const name in extra) (headers ??= new Headers(SSE_HEADERS)).set(name, extra[name]!)
  return headers ?? SSE_HEADERS
}

/**
 * What a route that starts short work (a cell, a command) passes as `holdMs`: work that ends
 * this soon goes out as one body in one write; longer work starts streaming then, its first
 * events this much later.
 */
export const SHORT_WORK_HOLD_MS = 10

/**
 * How long in all the hold waits for work that has said nothing yet beyond its start (see
 * SseOptions.spoke): under load a `bash -c true` takes 10–30 ms, and a short command that
 * outlived the 10 ms went out as a stream (0.2–0.4 ms more of execd's CPU). Nobody waits on a
 * silent command's output, so holding it costs only its init's delay; the moment it prints,
 * the hold ends and it streams.
 */
export const QUIET_WORK_HOLD_MS = 50

/**
 * Whether the work ended within its hold: `holdMs`, then on to QUIET_WORK_HOLD_MS in all while
 * it has not spoken. A rejection of `ended` is no end: the frames then stream as they come.
 */
function endedWithin(ended: Promise<unknown>, holdMs: number, spoke?: Promise<unknown>): Promise<boolean> {
  // One promise and one timer (an async function, within() and a catch were four promises per
  // warm cell); holdMs is a constant far inside setTimeout's range. The quiet wait goes on from
  // the timer: work that ends within the hold (nearly all) pays no second promise for it.
  const quietMs = spoke && QUIET_WORK_HOLD_MS > holdMs ? QUIET_WORK_HOLD_MS - holdMs : 0
  return new Promise<boolean>(resolve => {
    // Once the hold is over, the quiet wait alone answers (an end in it is its to see).
    let holding = true
    const timer = setTimeout(() => {
      holding = false
      if (quietMs > 0) void quietEnd(ended, spoke!, quietMs).then(resolve)
      else resolve(false)
    }, holdMs)
    const settle = (done: boolean) => {
      if (!holding) return
      clearTimeout(timer)
      resolve(done)
    }
    ended.then(
      () => settle(true),
      () => settle(false),
    )
  })
}

/** Whether silent work ends within `ms` more, before it speaks. */
async function quietEnd(ended: Promise<unknown>, spoke: Promise<unknown>, ms: number): Promise<boolean> {
  const first = Promise.race([ended.then(() => 'ended' as const), spoke.then(() => 'spoke' as const)])
  return (await within(first, ms).catch(() => 'timeout' as const)) === 'ended'
}

type Source = AsyncIterable<ExecEvent | SseItem>

/** A source with the response headers that making it decided (POST /code's execution id). */
export interface SourceWithHeaders {
  events: Source
  headers: Record<string, string>
  /** See SseOptions.ended. */
  ended?: Promise<unknown>
  /** See SseOptions.spoke. */
  spoke?: Promise<unknown>
}

/**
 * The one way a route streams work it starts: a slot of its app's `streams` is taken first, so
 * a full house refuses with a 503 before anything runs (a command started, a cell queued), then
 * the source is made; its own failures (an unknown id, bad input) give the slot back and
 * answer as JSON errors.
 */
export function streamed(
  streams: Streams,
  make: () => Source | SourceWithHeaders | Promise<Source | SourceWithHeaders>,
  opts: Omit<SseOptions, 'slot'> = {},
): Promise<Response> {
  let slot: () => void
  let made: Source | SourceWithHeaders | Promise<Source | SourceWithHeaders>
  try {
    slot = streams.acquire(opts.route)
  } catch (err) {
    return Promise.reject(err)
  }
  try {
    made = make()
  } catch (err) {
    release(slot, opts)
    return Promise.reject(err)
  }
  // Made in this tick (a warm cell in a named context): answered without a promise of its own.
  if (!(made instanceof Promise)) return respond(streams, made, opts, slot)
  return made.then(
    m => respond(streams, m, opts, slot),
    err => {
      release(slot, opts)
      throw err
    },
  )
}

/** A stream that never started gives its slot back and says it closed. */
function release(slot: () => void, opts: Omit<SseOptions, 'slot'>): void {
  slot()
  opts.onClose?.()
}

function respond(
  streams: Streams,
  made: Source | SourceWithHeaders,
  opts: Omit<SseOptions, 'slot'>,
  slot: () => void,
): Promise<Response> {
  if (Symbol.asyncIterator in made) return sseResponse(streams, made, { ...opts, slot })
  const { events, headers, ended, spoke } = made
  return sseResponse(streams, events, {
    ...opts,
    headers: opts.headers ? { ...opts.headers, ...headers } : headers,
    slot,
    ended,
    spoke,
  })
}

/**
 * Renders `source` as an SSE response, one of `streams` (in the slot `opts.slot` took, or one
 * taken here). The first event is awaited before the response is made, so a source that throws
 * before producing anything yields a JSON error response. Events of another type than
 * ExecEvent (metrics samples) come with their encoder.
 */
export function sseResponse(
  streams: Streams,
  source: AsyncIterable<ExecEvent | SseItem>,
  opts?: SseOptions,
): Promise<Response>
export function sseResponse<E extends object>(
  streams: Streams,
  source: AsyncIterable<E | SseItem<E>>,
  opts: SseOptions<E> & { encode: SseEncoder<E> },
): Promise<Response>
export async function sseResponse<E extends object>(
  streams: Streams,
  source: AsyncIterable<E | SseItem<E>>,
  opts: SseOptions<E> = {},
): Promise<Response> {
  const it = source[Symbol.asyncIterator]()
  let slot: () => void
  try {
    slot = opts.slot ?? streams.acquire(opts.route)
  } catch (err) {
    void it.return?.()
    opts.onClose?.()
    return errorResponse(toExecdError(err))
  }
  const headers = sseHeaders(opts.headers)
  let holdMs = opts.holdMs ?? 0
  // Work that ends within the hold (a warm cell): once it has, what it journaled is framed
  // here in one tick — no first-event await, no gathering loop, no stream (the reply's share of
  // a warm cell's CPU was a third of the cell's own).
  if (holdMs > 0 && opts.ended && 'ready' in it) {
    if (await endedWithin(opts.ended, holdMs, opts.spoke)) {
      const free = sseTurns.free()
      if (free) await free
      const writer = new SseWriter(it, opts, slot, streams)
      const whole = writer.whole()
      if (whole !== undefined) return new Response(whole as Uint8Array<ArrayBuffer> | string, { status: 200, headers })
      return streamOf(writer, headers, streams, opts)
    }
    holdMs = 0 // held already
  }
  let first: IteratorResult<E | SseItem<E>>
  try {
    first = await it.next()
  } catch (err) {
    slot()
    opts.onClose?.()
    return errorResponse(toExecdError(err))
  }
  const writer = new SseWriter(it, opts, slot, streams)
  const whole = await writer.gather(first, holdMs)
  if (whole) return new Response(whole as Uint8Array<ArrayBuffer>, { status: 200, headers })
  return streamOf(writer, headers, streams, opts)
}

/** The response that streams what `writer` has not sent yet, under the stall rule while it does. */
function streamOf<E>(writer: SseWriter<E>, headers: Headers, streams: Streams, opts: SseOptions<E>): Response {
  if (opts.request) writer.guardedBy(streams.guard(opts.request, opts.route))
  // A direct stream: each chunk is written from the batch's reused buffer (the write copies
  // what the socket does not take at once) and an awaited write is the backpressure; a
  // default stream needed a fresh buffer per chunk and its own queue and pull round trip.
  const direct: Bun.DirectUnderlyingSource = {
    type: 'direct',
    pull: controller => writer.run(controller),
    cancel: () => writer.cancel(),
  }
  // The DOM typings in use know no direct sources; Bun's constructor takes them.
  const stream = new ReadableStream(direct as unknown as UnderlyingDefaultSource<Uint8Array>)
  return new Response(stream, { status: 200, headers })
}
