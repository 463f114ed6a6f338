/**
 * What a daemon answers, checked before a verb reads it: a JSON value against the contract's
 * shape (answerOf), a run's SSE stream as its events (sseEvents). A server that is not execd, or
 * a broken or hostile one, gets a one-line error, never the CLI's own failure.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { ExecEvent } from '../core/events'

/**
 * `value` if it has the contract's shape. A server that is not execd (or a broken one) answered
 * `null` or a wrong type, and the verb failed on it with the CLI's own code quoted
 * ("e.replace is not a function. (In 'e.replace(de,…)"), or printed "Invalid Date".
 */
export function answerOf<S extends TSchema>(what: string, schema: S, value: unknown, at = ''): Static<S> {
  if (Value.Check(schema, value)) return value
  const first = Value.Errors(schema, value).First()
  const where = at || first?.path ? `${at}${first?.path ?? ''}: ` : ''
  throw new Error(
    `the server's answer to ${what} is not the contract's: ${where}${first?.message ?? 'unexpected shape'}`,
  )
}

/**
 * An SSE frame longer than this (characters) is refused. The daemon's own frames stay far
 * below it (an output line is cut at 64 KiB, a runtime's protocol line at 64 Mi characters).
 */
const MAX_SSE_FRAME_CHARS = 128 * 1024 * 1024

/**
 * The events of an SSE response (CONTRACT §2), as the daemon sent them. Text without a frame's
 * end is held as the chunks it came in and searched once: a server that never ends a frame
 * costs bounded memory and linear time (held as one string searched again for each chunk,
 * it took all memory and an event loop busy enough to delay Ctrl-C by seconds).
 */
export async function* sseEvents(res: Response, what: string, shape: TSchema = EVENT): AsyncGenerator<ExecEvent> {
  const decoder = new TextDecoder()
  let held: string[] = []
  let heldChars = 0
  let lastChar = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true })
    if (text.length === 0) continue
    // No frame ends in this text nor at its seam with the held text: hold it.
    if (!text.includes('\n\n') && !(lastChar === '\n' && text.charCodeAt(0) === 10)) {
      heldChars += text.length
      if (heldChars > MAX_SSE_FRAME_CHARS) throw frameTooLong()
      held.push(text)
      lastChar = text[text.length - 1]!
      continue
    }
    let buffer = held.length > 0 ? held.join('') + text : text
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = frame
        .split('\n')
        .filter(l => l.startsWith('data:'))
        .map(l => l.slice(5).trimStart())
        .join('\n')
      if (data) yield eventOf(what, data, shape)
    }
    held = buffer.length > 0 ? [buffer] : []
    heldChars = buffer.length
    lastChar = buffer.length > 0 ? buffer[buffer.length - 1]! : ''
    if (heldChars > MAX_SSE_FRAME_CHARS) throw frameTooLong()
  }
}

/**
 * The fields the verbs read of an event, as the contract types them (others pass unchecked). A
 * frame `null` or an error without its object failed in the CLI's own code ("null is not an
 * object (evaluating 'l.type')"), a number as text as "error ERR_INVALID_ARG_TYPE".
 */
const EVENT = Type.Object({
  type: Type.String(),
  text: Type.Optional(Type.String()),
  results: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  error: Type.Optional(
    Type.Object({ ename: Type.String(), evalue: Type.String(), traceback: Type.Array(Type.String()) }),
  ),
})

function eventOf(what: string, data: string, shape: TSchema): ExecEvent {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    throw new Error(`the server's answer to ${what} is not JSON: ${JSON.stringify(data.slice(0, 80))}`)
  }
  return answerOf(what, shape, value) as ExecEvent
}

const frameTooLong = () =>
  new Error(`the server sent an event larger than ${MAX_SSE_FRAME_CHARS} characters without its end; gave up`)
