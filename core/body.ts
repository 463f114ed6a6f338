/**
 * Reads a JSON request body before any route sees it: a size cap (413) checked as bytes
 * arrive, a time budget (408), strict UTF-8, a nesting limit checked by a linear scan before
 * `JSON.parse` (deep nesting costs the parser a stack frame and the validator far more per
 * level: 10,000 levels were a 500 "Maximum call stack size exceeded" or 600 MiB), and exactly
 * one JSON value. A route then gets text that its own parser cannot choke on.
 */
import { setAwakeTimeout } from './awake-clock'
import { withinQueued } from './deadline-queue'
import { ExecdError, PREFIX } from './errors'

export const MAX_JSON_DEPTH = 64

/**
 * Members and elements a JSON body may hold, counted by their commas before `JSON.parse`: the
 * parser builds every one on the event loop, and one object of many keys grows worse than
 * linearly (100,000 keys 0.1 s; 1,200,000 keys, 14.5 MB, 3 s of parse and a 4–5 s stall; 900,000
 * `envs` 14 s). A request that names a hundred thousand things is no request execd serves.
 */
export const MAX_JSON_VALUES = 100_000

export interface BodyLimits {
  maxBytes: number
  /**
   * ms the whole body may take to arrive, on the awake clock (a stop of execd is no wait for the
   * client: core/awake-clock.ts); 0 = no limit.
   */
  timeoutMs: number
}

/**
 * Tracks nesting across chunks in constant memory: strings (and escapes inside them) are
 * skipped so brackets in text never count.
 */
export class DepthScanner {
  private depth = 0
  private inString = false
  private escaped = false
  private commas = 0

  constructor(
    private readonly max = MAX_JSON_DEPTH,
    /** Past this many members and elements (commas, outside strings), a 400 too. */
    private readonly maxValues = MAX_JSON_VALUES,
  ) {}

  /**
   * Throws 400 as soon as `text` pushes the nesting or the count of values past its limit.
   * Inside a string only its end matters: found with indexOf (a quote ends it unless an odd run
   * of backslashes comes before it), not a character at a time (a 16 MiB body: 75-109 ms of
   * the event loop before).
   */
  feed(text: string): void {
    let { depth, inString, escaped, commas } = this
    const n = text.length
    for (let i = 0; i < n; i++) {
      if (inString) {
        const end = stringEnd(text, i, escaped)
        if (end < 0) {
          escaped = escapedAfter(text, i, escaped)
          break
        }
        inString = false
        escaped = false
        i = end
        continue
      }
      const c = text.charCodeAt(i)
      if (c === 0x22) inString = true
      else if (c === 0x2c) {
        if (++commas >= this.maxValues) {
          throw new ExecdError(
            'INVALID_REQUEST_BODY',
            `${PREFIX.parse}JSON holds more than ${this.maxValues} members and elements`,
          )
        }
      } else if (c === 0x7b || c === 0x5b) {
        if (++depth > this.max) {
          throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}JSON nested deeper than ${this.max} levels`)
        }
      } else if (c === 0x7d || c === 0x5d) depth--
    }
    this.depth = depth
    this.inString = inString
    this.escaped = escaped
    this.commas = commas
  }
}

/**
 * Backslashes in a row just before `end`, counted back no further than `from`; `escaped` says
 * whether the character at `from` is escaped (a backslash the chunk before left open), and
 * such a backslash at `from` escapes nothing itself.
 */
function backslashesBefore(text: string, from: number, end: number, escaped: boolean): number {
  let k = end - 1
  while (k >= from && text.charCodeAt(k) === 0x5c) k--
  const run = end - 1 - k
  return k < from && escaped ? run - 1 : run
}

/** The quote that ends the string `from` is inside of, or -1 when it goes on past `text`. */
export function stringEnd(text: string, from: number, escaped: boolean): number {
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    const run = backslashesBefore(text, from, q, escaped)
    // -1: the quote is the escaped character at `from` itself.
    if (run >= 0 && run % 2 === 0) return q
  }
  return -1
}

/** Whether the next chunk's first character is escaped, when a string runs on past `text`. */
export function escapedAfter(text: string, from: number, escaped: boolean): boolean {
  if (from >= text.length) return escaped
  return backslashesBefore(text, from, text.length, escaped) % 2 === 1
}

/** Decodes a whole body at once (no stream state to keep). */
const WHOLE = new TextDecoder('utf-8', { fatal: true })

/**
 * A request's body as checked text, as readJsonText reads it. A body of announced length (what
 * every SDK sends) is refused at once when too large, and a small one taken in one piece: reading
 * it as a stream, with a promise per chunk, was a tenth of a warm cell's CPU.
 */
export const readRequestJson = (request: Request, limits: BodyLimits): Promise<string> =>
  readRequestText(request, limits).then(joined)

/**
 * A request's body as checked text: whole when small, else in the parts it was read in, which
 * core/json-in-turns.ts parses without joining them into one more copy of the body.
 */
export function readRequestText(request: Request, limits: BodyLimits, held?: HeldBytes): Promise<string | string[]> {
  const announced = request.headers.get('content-length')
  const length = announced === null ? NaN : Number(announced)
  if (!Number.isSafeInteger(length) || length < 0 || request.headers.has('transfer-encoding'))
    return readJsonParts(request.body, limits, held)
  if (length > limits.maxBytes) return Promise.reject(tooLarge(limits))
  // A large body is read as it arrives, its bytes counted with every other's (arriving, below).
  if (length > UNCOUNTED_BYTES) return readJsonParts(request.body, limits, held)
  // Two promises in all (the read, within's), and a third for the check: three async layers
  // around them made six on every warm cell. withinQueued() waits on a body that fails after the
  // race is lost (the connection closed), so its failure is never unhandled; its deadline is one
  // of a shared queue on the awake clock (core/deadline-queue.ts), not a timer of its own.
  // bytes(), not arrayBuffer(): the Uint8Array comes made (~2k instructions a request less).
  const body = request.bytes()
  if (limits.timeoutMs <= 0) return body.then(checkedText)
  return withinQueued(body, limits.timeoutMs).then(bytes => {
    if (bytes === 'timeout') throw notInTime(limits.timeoutMs)
    return checkedText(bytes)
  })
}

/** A whole body's bytes as text: strict UTF-8, nesting within the limit. */
function checkedText(bytes: Uint8Array): string {
  const text = decodeOrThrow(WHOLE, bytes, false)
  if (mayPassLimits(text)) new DepthScanner().feed(text)
  return text
}

/**
 * Whether a whole body may pass a limit the scan enforces: nesting deeper than MAX_JSON_DEPTH
 * takes more brackets than that, MAX_JSON_VALUES commas a longer text. A warm cell's body (two
 * braces, seven strings) was walked string by string for a limit it cannot reach.
 */
function mayPassLimits(text: string): boolean {
  if (text.length >= MAX_JSON_VALUES) return true
  let opens = 0
  for (const bracket of BRACKETS)
    for (let i = text.indexOf(bracket); i >= 0; i = text.indexOf(bracket, i + 1))
      if (++opens > MAX_JSON_DEPTH) return true
  return false
}

const BRACKETS = ['{', '['] as const

const tooLarge = (limits: BodyLimits) =>
  new ExecdError('PAYLOAD_TOO_LARGE', `JSON body larger than ${limits.maxBytes} bytes (--max-json-bytes)`)

const notInTime = (timeoutMs: number) =>
  new ExecdError('REQUEST_TIMEOUT', `request body not received within ${timeoutMs} ms`)

/**
 * Bodies announced up to this size are taken whole and not counted: 2,048 of them
 * (--max-requests) hold 128 MiB at most.
 */
const UNCOUNTED_BYTES = 64 * 1024
/** Bodies of --max-json-bytes that may be arriving at once, all together. */
export const ARRIVING_BODIES = 16

/**
 * Bytes of the JSON bodies being read now, of every app in the process (the memory they hold is
 * the process's). --max-json-bytes bounded each body but not all of them: 40 connections each
 * sending 16 MiB less a byte and waiting held execd at 720 MiB (from 59) until --body-timeout,
 * ~32 GiB at --max-requests 2048. Counted as bytes arrive, not as announced: a client announcing
 * a large body and sending it at a byte a second holds nothing, and takes nothing from others.
 */
const arriving = { bytes: 0 }

/** Counts `bytes` more of a body being read; 503 when all bodies arriving would pass the bound. */
function arrive(bytes: number, limits: BodyLimits): void {
  const bound = ARRIVING_BODIES * limits.maxBytes
  if (arriving.bytes + bytes > bound) {
    throw new ExecdError(
      'SERVICE_UNAVAILABLE',
      `limit reached: JSON bodies arriving at once hold ${arriving.bytes} bytes, at most ${bound} (${ARRIVING_BODIES} × --max-json-bytes); try again when one has arrived`,
    )
  }
  arriving.bytes += bytes
}

/** Bytes of JSON bodies being read now (for tests). */
export const arrivingBytes = (): number => arriving.bytes

/**
 * A read body's bytes kept among those arriving until its parse is done: parsed in turns
 * (core/json-in-turns.ts), a body read whole was no longer counted while it was parsed, so bodies
 * being parsed had no bound (40 of 15.5 MiB at once: execd at 1.9 GB, none refused; 1.2 GB, 6
 * refused, when the parse was one turn). `release` gives them back (once; a no-op until the read ends).
 */
export interface HeldBytes {
  release: () => void
}

/** Chunks are decoded and scanned in batches of at least this many bytes. */
const BATCH_BYTES = 64 * 1024
/** Chunks read before the event loop gets a turn: reads of a queued stream never give it one. */
const CHUNKS_PER_TURN = 4096

/**
 * The whole body as checked text ('' when there is none), or a thrown ExecdError. A chunked
 * body may come as chunks of one byte each, so a chunk costs no more than it must: one deadline
 * for the whole body (a timer and two promises per read made 4 MB of 1-byte chunks cost 6.3 s
 * of execd's CPU), bytes decoded and scanned in batches, and the event loop let turn every
 * CHUNKS_PER_TURN chunks (Bun queues a read's worth of chunks, and reading them held /ping ~3 s).
 */
export const readJsonText = (body: ReadableStream<Uint8Array> | null, limits: BodyLimits): Promise<string> =>
  readJsonParts(body, limits).then(joined)

/** One text of a body read whole or in parts. */
export const joined = (text: string | string[]): string => (typeof text === 'string' ? text : text.join(''))

/** readJsonText's parts, not joined. */
async function readJsonParts(
  body: ReadableStream<Uint8Array> | null,
  limits: BodyLimits,
  held?: HeldBytes,
): Promise<string[]> {
  if (body === null) return []
  const reader = body.getReader()
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const scanner = new DepthScanner()
  const parts: string[] = []
  let batch: Uint8Array[] = []
  let batchBytes = 0
  const take = (stream: boolean) => {
    const bytes = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes)
    batch = []
    batchBytes = 0
    const text = decodeOrThrow(decoder, bytes, stream)
    scanner.feed(text)
    parts.push(text)
  }
  let late = false
  // A pending read ends (done) when the reader is cancelled: the loop below then sees `late`.
  const timer =
    limits.timeoutMs > 0
      ? setAwakeTimeout(() => {
          late = true
          void reader.cancel().catch(() => {})
        }, limits.timeoutMs)
      : undefined
  let bytes = 0
  let counted = 0
  let chunks = 0
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (late) throw notInTime(limits.timeoutMs)
      if (done) break
      bytes += value.byteLength
      if (bytes > limits.maxBytes) throw tooLarge(limits)
      arrive(value.byteLength, limits)
      counted += value.byteLength
      batch.push(value)
      batchBytes += value.byteLength
      if (batchBytes >= BATCH_BYTES) take(true)
      if (++chunks % CHUNKS_PER_TURN === 0) await new Promise<void>(resolve => setImmediate(resolve))
    }
    take(false)
    if (held) {
      // Read whole: counted until the caller has parsed it, then the route's.
      const bytes = counted
      counted = 0
      let released = false
      held.release = () => {
        if (!released) arriving.bytes -= bytes
        released = true
      }
    }
    return parts
  } catch (err) {
    // The rest of the body is never read; the caller closes the connection.
    void reader.cancel().catch(() => {})
    throw late ? notInTime(limits.timeoutMs) : err
  } finally {
    timer?.clear()
    // Read whole or refused, the body's bytes are its route's now, or garbage.
    arriving.bytes -= counted
  }
}

function decodeOrThrow(decoder: TextDecoder, chunk: Uint8Array | undefined, stream: boolean): string {
  try {
    return decoder.decode(chunk, { stream })
  } catch {
    throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}body is not valid UTF-8`)
  }
}

export type JsonShape = 'object' | 'array'

/**
 * Parses checked text as exactly one JSON value (a second value or trailing garbage is a
 * SyntaxError) and, when the route declares one, of the route's shape: `[]` or `null` for an
 * object body is a 400, not an empty request.
 */
export function parseJsonBody(text: string, shape?: JsonShape): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.parse}${(err as Error).message}`)
  }
  checkShape(value, shape)
  return value
}

/** A 400 unless a parsed body is of `shape` (any value when there is none). */
export function checkShape(value: unknown, shape: JsonShape | undefined): void {
  if (shape && shapeOf(value) !== shape) {
    throw new ExecdError(
      'INVALID_REQUEST_BODY',
      `${PREFIX.validation}body must be a JSON ${shape}, got ${shapeOf(value)}`,
    )
  }
}

const shapeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)
