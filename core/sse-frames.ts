/**
 * Items as SSE frames (CONTRACT §2) with one stream's ids: an event's id from its journal, a
 * bare event the next one counted. core/sse-writer.ts frames a stream's events through one;
 * `frame` is a single event's.
 */
import { EncodedEvent, encodeEvent, lineJsonParts, OutputBytes, type ExecEvent } from './events'
import { FrameBatch } from './sse-batch'
import { OutputFrames } from './output-frames'
import type { SseEncoder, SseItem } from './sse-options'

/** Characters past which a body ready whole is framed into a batch rather than one string. */
export const WHOLE_TEXT_MAX = 8 * 1024

/** One frame. Keepalive pings carry no id so a client's Last-Event-ID stays on real events. */
export const frame = (event: ExecEvent, id?: number, encode = encodeEvent): string => framed(encode(event), id)

const framed = (data: string, id?: number): string => `${id === undefined ? '' : `id: ${id}\n`}data: ${data}\n\n`

const isItem = <E>(x: E | SseItem<E>): x is SseItem<E> =>
  typeof x === 'object' && x !== null && 'event' in x && typeof x.event === 'object'

/** The frames of one stream's items, ids counted where an item has none. */
export class StreamFrames<E> {
  private ids = 0

  /** @param encode the stream's payload encoder; none: the ExecEvent key order of CONTRACT §2 */
  constructor(private readonly encode: SseEncoder<E> | undefined) {}

  /**
   * x's frame as one string, ids counted as `addTo` counts them; undefined for what the batch
   * frames from its bytes (an output line kept as bytes, a large encoded value).
   */
  text(x: E | SseItem<E>): string | undefined {
    if (x instanceof OutputBytes || x instanceof OutputFrames) return undefined
    const event = isItem(x) ? x.event : x
    if (event instanceof EncodedEvent && !this.encode) {
      if (event.size > WHOLE_TEXT_MAX) return undefined
      const id = (isItem(x) ? x.id : undefined) ?? ++this.ids
      this.ids = id
      return `id: ${id}\ndata: ${event.head}${event.jsonText()}${event.tail}\n\n`
    }
    const parts = this.parts(x)
    return parts.length === 1 ? parts[0] : parts.join('')
  }

  /** A batch that starts with x's frame; `joins`: FrameBatch's. */
  batchOf(x: E | SseItem<E>, joins = false): FrameBatch {
    const batch = new FrameBatch([], joins)
    this.addTo(batch, x)
    return batch
  }

  /**
   * Adds x's frame; an output line kept as bytes is written into the batch with no string made,
   * and an event that has its JSON as bytes around them.
   */
  addTo(batch: FrameBatch, x: E | SseItem<E>): void {
    if (x instanceof OutputBytes || x instanceof OutputFrames) {
      this.ids = batch.addOutput(x)
      return
    }
    const event = isItem(x) ? x.event : x
    if (event instanceof EncodedEvent && !this.encode) {
      const id = (isItem(x) ? x.id : undefined) ?? ++this.ids
      this.ids = id
      return batch.addEncoded(id, event.head, event.parts, event.size, event.tail)
    }
    batch.add(this.parts(x))
  }

  /** A frame in pieces; an output line's text stays a piece of its own (encoded in place). */
  parts(x: E | SseItem<E> | ExecEvent): string[] {
    const item: SseItem<E | ExecEvent> = isItem(x) ? x : { event: x }
    const id = item.id ?? ++this.ids
    if (item.id !== undefined) this.ids = item.id
    const encode = this.encode
    if (encode) return [framed(encode(item.event), id)]
    const line = lineJsonParts(item.event as ExecEvent)
    if (!line) return [frame(item.event as ExecEvent, id)]
    return [`id: ${id}\ndata: ${line[0]}`, line[1], `${line[2]}\n\n`]
  }
}
