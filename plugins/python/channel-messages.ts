/**
 * What the interpreter may send on its channel (plugins/python/channel.ts), and the limits on it:
 * the bulk message's framing, which parsed lines are messages, and the error that stands for one
 * dropped for its size. A cell can write to fd 3 as well as the driver, so none is trusted.
 */
import { EncodedEvent, errorEvent, isExecError, isPlainObject } from '../../core/events'
import { StringsJson } from '../../core/json-lines'
import { SpilledFile } from '../../core/spilled-bytes'

/**
 * A bulk message: the line `{"raw":<n>,"type":"<stdout|stderr|result>"}`, then n bytes of the
 * event's text or results as compact JSON (exactly what execd would write for them), then a
 * newline. The driver sends a large output or value so; its bytes are copied as they arrive and
 * framed as they are (EncodedEvent), where a line was decoded, joined, parsed and stringified
 * again, each step holding the event loop for the whole value.
 */
export const RAW_HEAD = Buffer.from('{"raw":')
export const RAW_TYPES = new Set(['stdout', 'stderr', 'result'])

/**
 * A bulk result's header may say `"alias":<n>`: its payload ends with `"text/plain":<n bytes of
 * a JSON string>}`, and its `text` is the same string (the driver's bundle always ends so). The
 * string comes once and its bytes are framed twice: sent twice, an unread 60 MB value held
 * 121 MiB of execd, once 61.
 */
const TEXT_PLAIN_KEY = Buffer.from('"text/plain":')
const TEXT_KEY = Buffer.from(',"text":')
const CLOSE = Buffer.from('}')

/** A header's alias: 0 when it has none, -1 when it cannot be one (the header is not ours). */
export function aliasOf(alias: unknown, type: unknown, size: unknown): number {
  if (alias === undefined) return 0
  if (type !== 'result' || typeof alias !== 'number' || !Number.isSafeInteger(alias) || alias < 2) return -1
  return typeof size === 'number' && alias + TEXT_PLAIN_KEY.length + 2 <= size ? alias : -1
}

/**
 * The result event of a payload whose last `alias` bytes before its `}` are text/plain's JSON
 * string, written again as `text`'s; undefined when they are not (user code may write to fd 3).
 * The payload is in memory or in a spilled file (read back a slice at a time for the check).
 */
export function aliased(payload: Uint8Array | SpilledFile, alias: number): EncodedEvent | undefined {
  const bytes = (from: number, to: number) =>
    payload instanceof SpilledFile ? payload.read(from, to) : payload.subarray(from, to)
  const part = (from: number, to: number) =>
    payload instanceof SpilledFile ? payload.range(from, to) : payload.subarray(from, to)
  const end = (payload instanceof SpilledFile ? payload.size : payload.length) - 1
  const start = end - alias
  const key = start - TEXT_PLAIN_KEY.length
  const around = bytes(key - 1, start)
  if (bytes(end, end + 1)[0] !== 0x7d || (around[0] !== 0x7b && around[0] !== 0x2c)) return undefined
  if (!TEXT_PLAIN_KEY.equals(around.subarray(1))) return undefined
  const check = new StringsJson('string')
  for (let at = start; at < end; at += CHECK_SLICE)
    if (!check.push(bytes(at, Math.min(end, at + CHECK_SLICE)))) return undefined
  if (!check.complete) return undefined
  const text = part(start, end)
  return new EncodedEvent('result', [part(0, end), TEXT_KEY, text, CLOSE])
}

/** Bytes of an alias checked at a time (a spilled one is read back so). */
const CHECK_SLICE = 1024 * 1024

export { SPILL_FROM } from '../../core/spilled-bytes'

/**
 * The largest message taken from the interpreter, in bytes of JSON: a bulk one's payload, or a
 * line (characters). A cell's value travels as `text/plain` and its alias `text`, so this lets
 * a 64 MiB string value through; anything larger is dropped with an error event saying so.
 */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024
/**
 * The longest line: a message the driver does not send in bulk (a bundle with other values than
 * strings, a lone surrogate) is held as text until its newline, in pieces and then joined.
 */
export const MAX_LINE_CHARS = 64 * 1024 * 1024

/** Whether a parsed line is a message the driver could have sent: an event's fields typed as the contract types them. */
export function isMessage(m: unknown): boolean {
  if (!isPlainObject(m)) return false
  switch (m.type) {
    case 'stdout':
    case 'stderr':
      return typeof m.text === 'string'
    case 'result':
      return isPlainObject(m.results)
    case 'execution_count':
      return typeof m.execution_count === 'number'
    case 'error':
      return isExecError(m.error)
    default:
      return true
  }
}

/** The error event of a message over a limit (`limit` in words), which is dropped. */
export function tooLarge(size: number, limit: string): Record<string, any> {
  return dropped(size, `execd takes at most ${limit} from the interpreter as one event`)
}

/** The error event of a message dropped for `why`: the contract's OutputTooLarge, as over the limit. */
export function dropped(size: number, why: string): Record<string, any> {
  const mib = (size / (1024 * 1024)).toFixed(1)
  const evalue = `an output or value of ${mib} MiB was dropped: ${why}`
  return errorEvent('OutputTooLarge', evalue, [evalue])
}
