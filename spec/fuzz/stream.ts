/**
 * One request of a scenario (a race, a runtime's cells), read to its end within a bound: a JSON
 * answer whole, an SSE stream frame by frame, so a scenario can act on the `init` frame (a
 * command's id) while the stream goes on, and the oracle can say whether it reached a terminal
 * event. What the answers must be is judged here too, the same way for every scenario.
 */
import { errorShape, type Violation } from './check'
import type { World } from './world'

export interface Frame {
  type?: string
  text?: string
  [key: string]: unknown
}

export interface Reply {
  label: string
  status: number
  headers: Headers
  /** The body of an answer that is not a stream. */
  text: string
  /** A stream's frames, parsed; `bad` holds the ones that were not one JSON object with a type. */
  frames: Frame[]
  bad: string[]
  /** answered: read to its end; timeout: not within the bound; closed: cut off (connection reset). */
  outcome: 'answered' | 'timeout' | 'closed'
  ms: number
}

export interface Pending {
  /** The first frame of a stream (its `init`), or null once the answer is known to hold none. */
  init: Promise<Frame | null>
  headers: Promise<Headers | null>
  done: Promise<Reply>
}

const decoder = () => new TextDecoder()

/** A reply not yet answered: what a request's outcome is filled into. */
/** An SSE event's data: its `data: ` lines, joined by newlines. */
export const dataOf = (block: string): string =>
  block
    .split('\n')
    .filter(l => l.startsWith('data: '))
    .map(l => l.slice(6))
    .join('\n')

export function blankReply(label: string): Reply {
  return { label, status: 0, headers: new Headers(), text: '', frames: [], bad: [], outcome: 'answered', ms: 0 }
}

/** Sends a request and reads its answer; the body is JSON text when given (a string is sent as is). */
export function call(
  w: World,
  label: string,
  method: string,
  path: string,
  body?: unknown,
  limitMs = 20_000,
  init: RequestInit = {},
): Pending {
  let gotInit: (f: Frame | null) => void = () => {}
  let gotHeaders: (h: Headers | null) => void = () => {}
  const initP = new Promise<Frame | null>(r => (gotInit = r))
  const headersP = new Promise<Headers | null>(r => (gotHeaders = r))
  const t0 = performance.now()
  const signal = AbortSignal.timeout(limitMs)
  const done = (async (): Promise<Reply> => {
    const reply = blankReply(label)
    try {
      const res = await w.daemon.fetch(path, {
        method,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        signal,
        ...init,
      })
      reply.status = res.status
      reply.headers = res.headers
      gotHeaders(res.headers)
      if (!(res.headers.get('content-type') ?? '').includes('text/event-stream') || !res.body) {
        gotInit(null)
        reply.text = await res.text()
        return reply
      }
      const reader = res.body.getReader()
      const dec = decoder()
      let open = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        open += dec.decode(value, { stream: true })
        for (let end = open.indexOf('\n\n'); end >= 0; end = open.indexOf('\n\n')) {
          const block = open.slice(0, end)
          open = open.slice(end + 2)
          const data = dataOf(block)
          try {
            const frame = JSON.parse(data) as Frame
            if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') throw new Error('no type')
            if (reply.frames.length === 0) gotInit(frame)
            reply.frames.push(frame)
          } catch {
            reply.bad.push(block.slice(0, 160))
          }
        }
      }
      if (open.trim()) reply.bad.push(`unterminated: ${open.slice(0, 160)}`)
      return reply
    } catch (err) {
      reply.outcome = signal.aborted ? 'timeout' : 'closed'
      reply.text = String(err).slice(0, 200)
      return reply
    } finally {
      reply.ms = performance.now() - t0
      gotInit(null)
      gotHeaders(null)
    }
  })()
  return { init: initP, headers: headersP, done }
}

/** Sends a clear of contexts (`DELETE /code/contexts?language=`), counted in `w` while and after. */
export async function clearing<T>(w: World, send: () => Promise<T>): Promise<T> {
  w.clears++
  w.clearing++
  try {
    return await send()
  } finally {
    w.clearing--
    w.clears++
  }
}

/**
 * Whether some case may have cleared contexts by language since `since` (a read of `w.clears`):
 * one was sent or answered since, or one is in flight now. A clear sent before the read and not
 * yet answered moved nothing, though the daemon may have listed the contexts after the read
 * (seed 42002: a sql context's cell and DELETE were 404 while another case's clear of sql
 * contexts waited 500 ms for an interpreter to close).
 */
export const clearedSince = (w: World, since: number): boolean => w.clears !== since || w.clearing > 0

/**
 * judge() for a request on a context a race made: a 404 CONTEXT_NOT_FOUND while some case
 * cleared contexts by language (clearedSince) is that case's doing.
 */
export function judgeContext(w: World, since: number, r: Reply, statuses?: number[]): Violation[] {
  if (r.status === 404 && clearedSince(w, since) && r.text.includes('CONTEXT_NOT_FOUND')) return []
  return judge(r, statuses)
}

/** What ends an execution's stream: `execution_complete`, or (a command's) `error`. */
export const TERMINAL = new Set(['execution_complete', 'error'])

const types = (r: Reply) => r.frames.map(f => f.type).join(',') || 'no frames'

/**
 * The oracle every scenario answer is held to: answered within its bound, no 5xx (each scenario
 * is a client's doing; `allowed5xx` names a documented exception), an error is the contract's
 * JSON, a stream's frames are JSON with a type and it ends in exactly one terminal event.
 * `statuses`, when given, are the only ones the race may answer.
 */
export function judge(r: Reply, statuses?: number[], allowed5xx: number[] = []): Violation[] {
  const out: Violation[] = []
  const at = `${r.label}`
  if (r.outcome === 'timeout') {
    const seen = r.status ? `${r.status} after frames ${types(r)}` : 'no answer'
    return [{ kind: 'hang', detail: `${at}: not done within its bound (${seen})` }]
  }
  if (r.outcome === 'closed') {
    if (r.status === 0) return [{ kind: 'stream', detail: `${at}: the connection closed unanswered: ${r.text}` }]
    return [{ kind: 'stream', detail: `${at}: ${r.status} cut off after frames ${types(r)}: ${r.text}` }]
  }
  if (r.status >= 500 && !allowed5xx.includes(r.status))
    out.push({ kind: '5xx', detail: `${at}: ${r.status} ${r.text.slice(0, 200)}` })
  if (r.status >= 400) {
    const shape = errorShape(r)
    if (shape) out.push({ kind: 'error-shape', detail: `${at}: ${r.status}: ${shape}` })
  }
  if (statuses && !statuses.includes(r.status))
    out.push({
      kind: 'contract',
      detail: `${at}: ${r.status} (expected ${statuses.join(' or ')}) ${r.text.slice(0, 160)}`,
    })
  if (r.bad.length) out.push({ kind: 'stream', detail: `${at}: frames that are not JSON events: ${r.bad[0]}` })
  if (r.status === 200 && (r.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const last = r.frames.at(-1)?.type ?? ''
    const terminals = r.frames.filter(f => f.type === 'execution_complete').length
    if (!TERMINAL.has(last))
      out.push({ kind: 'stream', detail: `${at}: the stream ended without a terminal event: ${types(r)}` })
    else if (terminals > 1)
      out.push({ kind: 'stream', detail: `${at}: ${terminals} execution_complete events: ${types(r)}` })
  }
  return out
}
