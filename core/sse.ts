/**
 * Server-Sent Events writer (CONTRACT §2): `id: n` + `data: <json>` frames, a keepalive
 * `ping` every 3 s, headers committed only once the first event exists (an earlier failure is
 * a plain JSON error response), pull-based backpressure, and a clean stop when the client
 * goes away or execd shuts down.
 */
import { encodeEvent, errorEvent, lineJsonParts, makeEvent, type ExecEvent } from './events'
import { errorResponse, toExecdError } from './errors'
import { Capacity } from './limits'

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
  /** A slot taken with acquireStream() before the work began; else one is taken here. */
  slot?: () => void
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const

const encoder = new TextEncoder()
/** A batched chunk stops growing past this many bytes. */
const BATCH_BYTES = 64 * 1024
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

/** Concurrent streams of every kind (commands, session runs, code, replays, metrics watch). */
let streams = new Capacity('concurrent streams', 0, 'max-streams')

/** Sets the cap on concurrent streams (0: none); at setup, before any stream opens. */
export function limitStreams(max: number): void {
  streams = new Capacity('concurrent streams', max, 'max-streams')
}

/**
 * Takes a stream slot, or throws the 503 that names the limit. Routes that start work (a
 * command, a run) take it first, so a full house refuses before anything runs; the stream
 * gives it back when it ends.
 */
export const acquireStream = (): (() => void) => streams.acquire()

/**
 * A stream whose source is made only once a slot is taken: the source's own failures (an
 * unknown id, bad input) give the slot back and answer as JSON errors.
 */
export async function streamed(
  make: () => AsyncIterable<ExecEvent | SseItem> | Promise<AsyncIterable<ExecEvent | SseItem>>,
  opts: Omit<SseOptions, 'slot'> = {},
): Promise<Response> {
  const slot = acquireStream()
  let source: AsyncIterable<ExecEvent | SseItem>
  try {
    source = await make()
  } catch (err) {
    slot()
    opts.onClose?.()
    throw err
  }
  return sseResponse(source, { ...opts, slot })
}

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
  let slot: () => void
  try {
    slot = opts.slot ?? acquireStream()
  } catch (err) {
    void it.return?.()
    opts.onClose?.()
    return errorResponse(toExecdError(err))
  }
  let first: IteratorResult<ExecEvent | SseItem>
  try {
    first = await it.next()
  } catch (err) {
    slot()
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

  const render = (x: ExecEvent | SseItem): string => renderParts(x).join('')
  // A frame in pieces; an output line's text stays a piece of its own (encoded in place).
  const renderParts = (x: ExecEvent | SseItem): string[] => {
    const item = isItem(x) ? x : { event: x }
    const id = item.id ?? ++counter
    if (item.id !== undefined) counter = item.id
    const line = opts.encode ? undefined : lineJsonParts(item.event)
    if (!line) return [frame(item.event, id, opts.encode)]
    return [`id: ${id}\ndata: ${line[0]}`, line[1], `${line[2]}\n\n`]
  }

  const finish = () => {
    if (closed) return
    closed = true
    open.delete(end)
    slot()
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
        const batch = new FrameBatch(renderParts(outcome.value))
        try {
          while (batch.bytes < BATCH_BYTES && !abortEvent) {
            const next = it.next()
            const ready = await Promise.race([next, NOT_READY])
            if (ready === 'not-ready') {
              pending = next
              break
            }
            if (ready.done) {
              controller.enqueue(batch.take())
              finish()
              controller.close()
              return
            }
            batch.add(renderParts(ready.value))
          }
        } catch (err) {
          const e = toExecdError(err)
          batch.add([render(errorEvent('RuntimeError', e.message, [e.message]))])
          controller.enqueue(batch.take())
          finish()
          controller.close()
          return
        }
        controller.enqueue(batch.take())
        collectAfterFlood(batch.bytes)
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

/**
 * Frames of one chunk, encoded straight into one buffer (no per-frame arrays: a flood's
 * garbage is what sets execd's peak memory). A lone frame is encoded on its own, exact size.
 */
class FrameBatch {
  private first: string[] | undefined
  private buf: Uint8Array | undefined
  private used = 0

  constructor(first: string[]) {
    this.first = first
  }

  get bytes(): number {
    return this.buf ? this.used : this.first!.reduce((n, p) => n + p.length, 0)
  }

  add(frame: string[]): void {
    if (!this.buf) {
      this.buf = new Uint8Array(BATCH_BYTES + 16 * 1024)
      for (const part of this.first!) this.put(part)
      this.first = undefined
    }
    for (const part of frame) this.put(part)
  }

  take(): Uint8Array {
    return this.buf ? this.buf.subarray(0, this.used) : encoder.encode(this.first!.join(''))
  }

  private put(part: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const need = this.used + part.length * 3
    if (need > this.buf!.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf!.length * 2))
      bigger.set(this.buf!.subarray(0, this.used))
      this.buf = bigger
    }
    this.used += encoder.encodeInto(part, this.buf!.subarray(this.used)).written
  }
}

/**
 * A flood makes a few bytes of garbage per byte sent (pipe chunks, decoded text, buffers), and
 * the collector, paced by time as much as by allocation, lets it pile up to tens of MiB at
 * full speed (row 4b: 172 MiB peak at 274 MiB/s). A synchronous collection after every
 * 32 MiB streamed (all streams together) held it at ~133 MiB for a few ms per second of flood;
 * `Bun.gc(false)` (a hint) changed nothing, and every 64 MiB was not enough.
 */
let streamedSinceGc = 0
const GC_EVERY_BYTES = 32 * 1024 * 1024
function collectAfterFlood(bytes: number): void {
  streamedSinceGc += bytes
  if (streamedSinceGc < GC_EVERY_BYTES) return
  streamedSinceGc = 0
  Bun.gc(true)
}
