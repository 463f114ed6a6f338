/**
 * The wire event of CONTRACT §2, without framing. One producer (a command, a runtime, the
 * metrics sampler) yields these; the SSE writer and the CLI render them.
 */
import { partBytes, type EncodedPart } from './encoded-part'

export type EventType =
  'init' | 'ping' | 'stdout' | 'stderr' | 'status' | 'execution_count' | 'result' | 'error' | 'execution_complete'

export interface ExecError {
  ename: string
  evalue: string
  traceback: string[]
}

/** A JSON object (not null, not an array): what a child's message must be before its fields are read. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** An error a child sent, as the contract has it: ename, evalue and every traceback line strings. */
export const isExecError = (e: unknown): e is ExecError =>
  isPlainObject(e) &&
  typeof e.ename === 'string' &&
  typeof e.evalue === 'string' &&
  Array.isArray(e.traceback) &&
  e.traceback.every(l => typeof l === 'string')

export interface ExecEvent {
  type: EventType
  text?: string
  execution_count?: number
  /** Milliseconds the execution took (execution_complete). */
  execution_time?: number
  /** Unix ms when the event was made; always present. */
  timestamp: number
  /** MIME bundle: 'text/plain' and its alias 'text', 'text/html', 'image/png' (base64), ... */
  results?: Record<string, unknown>
  error?: ExecError
  /** Extensions the SDKs ignore (execution_id, state_lost, ...), written after the standard keys. */
  [extra: string]: unknown
}

type Fields = Omit<Partial<ExecEvent>, 'type' | 'timestamp'>

export const makeEvent = (type: EventType, fields: Fields = {}): ExecEvent => ({
  type,
  ...fields,
  timestamp: Date.now(),
})

export const errorEvent = (ename: string, evalue: string, traceback: string[] = []): ExecEvent =>
  makeEvent('error', { error: { ename, evalue, traceback } })

const ORDER = ['type', 'text', 'execution_count', 'execution_time', 'timestamp', 'results', 'error']

/** An output line event: the same object `makeEvent` makes, without the spread. */
export const lineEvent = (type: 'stdout' | 'stderr', text: string): ExecEvent => ({ type, text, timestamp: Date.now() })

/** What JSON.stringify would escape: quote, backslash, controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * An output line's JSON in three pieces (head, text, tail), or undefined for any other event.
 * Lets a writer encode the line's text where it lies, without joining it into a new string.
 * Only events of exactly these three keys qualify: the bytes equal the key-order walk's.
 */
export function lineJsonParts(e: ExecEvent): [string, string, string] | undefined {
  if (e instanceof EncodedEvent) return undefined
  if ((e.type !== 'stdout' && e.type !== 'stderr') || typeof e.text !== 'string' || e.text === '') return undefined
  if (!Number.isFinite(e.timestamp)) return undefined
  let keys = 0
  for (const _ in e) keys++
  if (keys !== 3) return undefined
  // Most output needs no escaping: quoted as is, the text is not copied.
  const tails = tailsAt(e.timestamp)
  if (NEEDS_ESCAPE.test(e.text)) return [HEADS[e.type].escaped, JSON.stringify(e.text), tails.escaped]
  return [HEADS[e.type].plain, e.text, tails.plain]
}

const ascii = new TextDecoder()

/**
 * An output line journaled as the bytes it came as: printable ASCII that JSON needs no escape
 * for (see ByteLineSplitter), framed by copying the bytes between `outputLineHead` and
 * `outputLineTail` — no string is made for it. An `SseItem` like any other: `event` is the line decoded,
 * on demand, for readers that want an event (the CLI); the bytes are valid until the reader
 * asks for its next item, the event for good.
 */
export class OutputBytes {
  private decoded: ExecEvent | undefined

  /** The line is `source[start..end]` (a journal's ring holds many lines in one source). */
  constructor(
    readonly id: number,
    readonly type: 'stdout' | 'stderr',
    readonly source: Uint8Array,
    readonly timestamp: number,
    readonly start = 0,
    readonly end = source.length,
  ) {}

  /**
   * The line's bytes, as a view (made on demand: a writer copies from `source`). A whole source
   * is the line itself, empty once its chunk was freed (live-bash lends views of the chunk).
   */
  get data(): Uint8Array {
    return this.start === 0 && this.end >= this.source.length ? this.source : this.source.subarray(this.start, this.end)
  }

  get event(): ExecEvent {
    return (this.decoded ??= { type: this.type, text: ascii.decode(this.data), timestamp: this.timestamp })
  }
}

/**
 * The JSON of an OutputBytes line is head + its bytes + tail: the same bytes `encodeEvent` makes
 * of its event (no escape needed, so the text goes in as it is).
 */
export const outputLineHead = (type: 'stdout' | 'stderr'): string => HEADS[type].plain
export const outputLineTail = (timestamp: number): string => tailsAt(timestamp).plain

/** An output line's head and tail strings, made once (per type) or once a millisecond: a flood's lines share them. */
const HEADS = {
  stdout: { plain: '{"type":"stdout","text":"', escaped: '{"type":"stdout","text":' },
  stderr: { plain: '{"type":"stderr","text":"', escaped: '{"type":"stderr","text":' },
}
let lastTails = { at: NaN, plain: '', escaped: '' }
function tailsAt(timestamp: number): { plain: string; escaped: string } {
  if (lastTails.at !== timestamp)
    lastTails = { at: timestamp, plain: `","timestamp":${timestamp}}`, escaped: `,"timestamp":${timestamp}}` }
  return lastTails
}

const utf8 = new TextDecoder()

/**
 * An output or a result whose bulk (its `text`, its `results`) came from the interpreter as the
 * JSON `encodeEvent` would write for it: framed by copying those bytes, never parsed, made a
 * string or stringified on the event loop (a 30 MB python value held the loop for seconds in
 * those three steps). `text` and `results` are decoded on demand, for readers that want the
 * event (the CLI). The JSON is a string for output, an object of strings for a result.
 */
export class EncodedEvent implements ExecEvent {
  [extra: string]: unknown
  timestamp = Date.now()
  #decoded: unknown

  /**
   * The JSON's bytes in the pieces they came in (joined, they would be one more copy of it all);
   * a large value's in a spilled file (core/spilled-bytes.ts).
   */
  readonly parts: EncodedPart[]
  /** Their length. */
  readonly size: number

  /**
   * @param disposable its one part is its own, viewed by nothing else: whoever copies it may
   *   free it at once (a journal does, core/chunks.ts), its memory warm for the next chunk.
   */
  constructor(
    readonly type: 'stdout' | 'stderr' | 'result',
    json: Uint8Array | EncodedPart[],
    readonly disposable = false,
  ) {
    this.parts = Array.isArray(json) ? json : [json]
    let size = 0
    for (const p of this.parts) size += p.length
    this.size = size
  }

  /** The same event with its JSON at `source[start..end]` (a copy of its bytes there). */
  movedTo(source: Uint8Array, start: number, end: number): EncodedEvent {
    const moved = new EncodedEvent(this.type, source.subarray(start, end))
    moved.timestamp = this.timestamp
    return moved
  }

  get text(): string | undefined {
    return this.type === 'result' ? undefined : (this.value() as string)
  }

  get results(): Record<string, unknown> | undefined {
    return this.type === 'result' ? (this.value() as Record<string, unknown>) : undefined
  }

  /** The event's JSON up to `json`, in the key order of `encodeEvent`. */
  get head(): string {
    return this.type === 'result'
      ? `{"type":"result","timestamp":${this.timestamp},"results":`
      : HEADS[this.type].escaped
  }

  /** The event's JSON after `json`. */
  get tail(): string {
    return this.type === 'result' ? '}' : `,"timestamp":${this.timestamp}}`
  }

  private value(): unknown {
    return (this.#decoded ??= JSON.parse(this.jsonText()))
  }

  /** The JSON as a string (for readers that want it, not for frames). */
  jsonText(): string {
    const [first] = this.parts
    if (this.parts.length === 1 && first instanceof Uint8Array) return utf8.decode(first)
    return Buffer.concat(this.parts.map(partBytes)).toString('utf8')
  }
}

/** Compact JSON with the reference's key order; empty keys omitted, timestamp always kept. */
export function encodeEvent(e: ExecEvent): string {
  if (e instanceof EncodedEvent) return e.head + e.jsonText() + e.tail
  // Output lines are nearly every event of a flood: no generic walk for them.
  const line = lineJsonParts(e)
  if (line) return line[0] + line[1] + line[2]
  const flat = flatJson(e)
  if (flat !== undefined) return flat
  const out: Record<string, unknown> = {}
  for (const key of ORDER) {
    const v = e[key]
    if (key === 'timestamp' || !blank(v)) out[key] = v
  }
  for (const key of Object.keys(e)) {
    if (!ORDER.includes(key) && !blank(e[key])) out[key] = e[key]
  }
  return JSON.stringify(out)
}

/**
 * `{"type":"<type>"` of each event type, made once: a type JSON writes as it is. A Map: an
 * object's `[e.type]` speculated an interned key, and a type parsed from a driver's message is
 * not one (`BadStringType`: flatJson compiled again).
 */
const TYPE_HEADS = new Map<string, string>()
for (const type of [
  'init',
  'ping',
  'stdout',
  'stderr',
  'status',
  'execution_count',
  'result',
  'error',
  'execution_complete',
] satisfies EventType[])
  TYPE_HEADS.set(type, `{"type":"${type}"`)

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/**
 * A string's JSON: most (ids, `pong`, short texts) need no escape and go in quotes as they are.
 * A call of JSON.stringify from compiled code costs ~120 instructions more than the regex's test
 * (callgrind, bench/README.md round 20); an init asks for three.
 */
const quoted = (v: string): string => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`)

/** The extras' keys as JSON, made once each: a few names (execution_id, state_lost), bounded. */
const KEY_JSON = new Map<string, string>()
function keyJson(key: string): string {
  let json = KEY_JSON.get(key)
  if (json === undefined) {
    json = quoted(key)
    if (KEY_JSON.size < 64) KEY_JSON.set(key, json)
  }
  return json
}

/** A timestamp's digits, made once a millisecond: a cell's events mostly share one. */
let lastStamp = { at: NaN, text: '' }
function stampText(timestamp: number): string {
  if (lastStamp.at !== timestamp) lastStamp = { at: timestamp, text: `${timestamp}` }
  return lastStamp.text
}

/** The members `flatJson` reads by name; any other is an extra, after the timestamp. */
const FLAT_NAMED = new Set(ORDER)

/**
 * The JSON of a flat event — a text, a count, a time and extra string members at most: every
 * cell's and command's init, ping, execution_count and execution_complete — the same bytes as
 * the key-order walk below; undefined for any other event (nested values, other value types, a
 * key JSON would order first or drop), which takes the walk. The walk's object, its two loops
 * over ORDER and the stringify of the whole were a tenth of a warm cell's main thread before the
 * JIT had compiled them. The named members are read by name, each at its own site: read as
 * `e[key]` in one `for…in` over events of four shapes, one site saw strings, numbers and
 * undefined, and JSC's optimised code was thrown away and compiled again 3 times per daemon
 * (`BadType`, `BadStringType`; bench/jit-compiles.ts).
 */
function flatJson(e: ExecEvent): string | undefined {
  const head = typeof e.type === 'string' ? TYPE_HEADS.get(e.type) : undefined
  const timestamp = e.timestamp
  if (head === undefined || !isCount(timestamp) || !blank(e.results) || !blank(e.error)) return undefined
  let out = head
  // Each read only where the member is: a read of one that is absent in some shapes saw
  // undefined too seldom for JSC's profile, which then took it for a string (`BadType`).
  if ('text' in e) {
    const text = e.text
    if (typeof text === 'string') {
      if (text.length !== 0) out += `,"text":${quoted(text)}`
    } else if (!blank(text)) return undefined
  }
  if ('execution_count' in e) {
    const count = e.execution_count
    if (isCount(count)) {
      if (count !== 0) out += `,"execution_count":${count}`
    } else if (!blank(count)) return undefined
  }
  if ('execution_time' in e) {
    const time = e.execution_time
    if (isCount(time)) {
      if (time !== 0) out += `,"execution_time":${time}`
    } else if (!blank(time)) return undefined
  }
  out += `,"timestamp":${stampText(timestamp)}`
  for (const key in e) {
    if (FLAT_NAMED.has(key)) continue
    // An object orders keys of digits first; `__proto__` is no member of one.
    if (key === '__proto__' || !Object.hasOwn(e, key) || (key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57))
      return undefined
    const v = e[key]
    if (typeof v === 'string') {
      if (v.length !== 0) out += `,${keyJson(key)}:${quoted(v)}`
    } else if (!blank(v)) return undefined
  }
  return `${out}}`
}

/**
 * Whether a member is left out of an event's JSON (undefined, null, '', 0, false), each
 * comparison behind its type's test: the values at one site are strings, numbers, objects and
 * undefined, and a plain `v === undefined || … || v === ''` inlined there speculated on the types
 * it had seen and exited (BadType). flatJson was thrown away for it until round 20; the walk's
 * (a result's, an error's) threw encodeEvent away: ~100 exits, then a second DFG compile of it,
 * 9–12 ms of a JIT thread per daemon (round 22).
 */
function blank(v: unknown): boolean {
  if (v === undefined || v === null) return true
  switch (typeof v) {
    case 'string':
      return v.length === 0
    case 'number':
      return v === 0
    case 'boolean':
      return v === false
    default:
      return false
  }
}
