/**
 * Server-Sent Events writer (CONTRACT §2): `id: n` + `data: <json>` frames, a keepalive
 * `ping` every 3 s, headers committed only once the first event exists (an earlier failure is
 * a plain JSON error response), pull-based backpressure, and a clean stop when the client
 * goes away or execd shuts down.
 */
import { encodeEvent, errorEvent, makeEvent, type ExecEvent } from './events'
import { errorResponse, toExecdError } from './errors'

/** An event with the id it has in a journal; bare events get ids counted per stream. */
export interface SseItem {
  id?: number
  event: ExecEvent
}

export interface SseOptions {
  /** Keepalive interval; 0 disables. */
  pingMs?: number
  headers?: Record<string, string>
  /** Called once when the stream ends for any reason (done, client gone, shutdown). */
  onClose?: () => void
  /** Payload encoder; default: the ExecEvent key order of CONTRACT §2. */
  encode?: (event: ExecEvent) => string
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const

const encoder = new TextEncoder()
/** Upper bound of one batched chunk, in string length. */
const BATCH_CHARS = 64 * 1024
/** Settled already, so it loses a race only to a result that is ready now. */
const NOT_READY: Promise<'not-ready'> = Promise.resolve('not-ready')

/** One frame. Keepalive pings carry no id so a client's Last-Event-ID stays on real events. */
export const frame = (event: ExecEvent, id?: number, encode = encodeEvent): string =>
  `${id === undefined ? '' : `id: ${id}\n`}data: ${encode(event)}\n\n`

/** Open streams, so shutdown can end each with an error event. */
const open = new Set<(event: ExecEvent) => void>()

export function closeAllStreams(reason = 'execd is shutting down'): void {
  for (const end of [...open]) end(errorEvent('ServerShutdown', reason, [reason]))
}

export const openStreamCount = (): number => open.size

const isItem = (x: ExecEvent | SseItem): x is SseItem => 'event' in x && typeof x.event === 'object'

/**
 * Renders `source` as an SSE response. The first event is awaited before the response is
 * made, so a source that throws before producing anything yields a JSON error response.
 */
export async function sseResponse(
  source: AsyncIterable<ExecEvent | SseItem>,
  opts: SseOptions = {},
): Promise<Response> {
  const pingMs = opts.pingMs ?? 3000
  const it = source[Symbol.asyncIterator]()
  let first: IteratorResult<ExecEvent | SseItem>
  try {
    first = await it.next()
  } catch (err) {
    opts.onClose?.()
    return errorResponse(toExecdError(err))
  }

  let counter = 0
  let closed = false
  let pending: Promise<IteratorResult<ExecEvent | SseItem>> | undefined
  let lastWrite = Date.now()
  // A fresh waiter per pull: racing one long-lived promise on every pull would pile a
  // reaction (holding that pull's event) onto it per event — a leak as long as the stream.
  let abortEvent: ExecEvent | undefined
  let abortWaiter: ((e: ExecEvent) => void) | undefined

  const render = (x: ExecEvent | SseItem): string => {
    const item = isItem(x) ? x : { event: x }
    const id = item.id ?? ++counter
    if (item.id !== undefined) counter = item.id
    return frame(item.event, id, opts.encode)
  }

  const finish = () => {
    if (closed) return
    closed = true
    open.delete(end)
    opts.onClose?.()
  }
  const end = (e: ExecEvent) => {
    abortEvent ??= e
    abortWaiter?.(e)
  }
  open.add(end)

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (first.done) {
          finish()
          controller.close()
          return
        }
        controller.enqueue(encoder.encode(render(first.value)))
      },
      async pull(controller) {
        if (closed) return
        pending ??= it.next()
        const wait = pingMs > 0 ? Math.max(0, pingMs - (Date.now() - lastWrite)) : 2 ** 31 - 1
        let timer: ReturnType<typeof setTimeout> | undefined
        const tick = new Promise<'ping'>(r => (timer = setTimeout(() => r('ping'), wait)))
        let outcome: IteratorResult<ExecEvent | SseItem> | 'ping' | { abort: ExecEvent }
        try {
          const aborted = new Promise<{ abort: ExecEvent }>(r => {
            if (abortEvent) r({ abort: abortEvent })
            else abortWaiter = e => r({ abort: e })
          })
          outcome = await Promise.race([pending, tick, aborted])
        } catch (err) {
          // The producer failed after the stream started: report it in-band, then end.
          clearTimeout(timer)
          const e = toExecdError(err)
          controller.enqueue(encoder.encode(render(errorEvent('RuntimeError', e.message, [e.message]))))
          finish()
          controller.close()
          return
        }
        clearTimeout(timer)
        abortWaiter = undefined
        lastWrite = Date.now()
        if (outcome === 'ping') {
          controller.enqueue(encoder.encode(frame(makeEvent('ping', { text: 'pong' }))))
          return
        }
        if ('abort' in outcome) {
          controller.enqueue(encoder.encode(render(outcome.abort)))
          void it.return?.()
          finish()
          controller.close()
          return
        }
        pending = undefined
        if (outcome.done) {
          finish()
          controller.close()
          return
        }
        // Events already waiting go out in the same chunk: one chunk per event cost a socket
        // write and a stream round trip each, most of a flood's time. Only ready events are
        // taken (nothing waits for more), and a batch is bounded.
        let out = render(outcome.value)
        try {
          while (out.length < BATCH_CHARS && !abortEvent) {
            const next = it.next()
            const ready = await Promise.race([next, NOT_READY])
            if (ready === 'not-ready') {
              pending = next
              break
            }
            if (ready.done) {
              controller.enqueue(encoder.encode(out))
              finish()
              controller.close()
              return
            }
            out += render(ready.value)
          }
        } catch (err) {
          const e = toExecdError(err)
          controller.enqueue(encoder.encode(out + render(errorEvent('RuntimeError', e.message, [e.message]))))
          finish()
          controller.close()
          return
        }
        controller.enqueue(encoder.encode(out))
      },
      cancel() {
        // Client went away: let the producer run its cleanup (it decides whether work stops).
        finish()
        void it.return?.()
      },
    },
    { highWaterMark: 1 },
  )
  return new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...opts.headers } })
}
