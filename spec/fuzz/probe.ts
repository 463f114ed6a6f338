/** Single requests for the regression cases: each answer read in full, bounded in time. */
import type { Finding } from './campaign'
import type { HttpCase, RawFraming } from './cases'
import { errorShape, type FailureKind } from './check'
import { type Answer, send } from './send'
import type { World } from './world'

export const LIMIT_MS = 15_000

export async function request(
  w: World,
  method: string,
  path: string,
  body?: string | Uint8Array,
  limitMs = LIMIT_MS,
): Promise<Answer> {
  const signal = AbortSignal.timeout(limitMs)
  try {
    const res = await w.daemon.fetch(path, {
      method,
      body: body as BodyInit | undefined,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      signal,
    })
    return { status: res.status, headers: res.headers, text: await res.text(), outcome: 'answered' }
  } catch (err) {
    return { status: 0, headers: new Headers(), text: String(err), outcome: signal.aborted ? 'timeout' : 'closed' }
  }
}

/** A request over a raw socket with the given framing (odd Host, HTTP/1.0, ...). */
export function rawRequest(
  w: World,
  method: string,
  route: string,
  raw: RawFraming,
  body: string | null = null,
): Promise<Answer> {
  const c: HttpCase = {
    kind: 'http',
    op: `${method} ${route}`,
    method,
    route,
    params: {},
    query: [],
    contentType: body === null ? null : 'application/json',
    origin: null,
    headers: [],
    body: body === null ? null : { raw: body, malformed: false },
    raw,
  }
  return send(c, w, { echo: 0, closed: 0 }, LIMIT_MS)
}

export const framing = (host: string | null, http10 = false): RawFraming => ({
  host,
  length: 'exact',
  http10,
  rawTarget: false,
})

const show = (a: Answer) =>
  a.outcome === 'answered' ? `${a.status} ${a.text.slice(0, 160)}` : `${a.outcome} ${a.text.slice(0, 100)}`

/** A failure unless the answer has `status` (and `code`, when given). */
export function expectStatus(
  op: string,
  input: string,
  a: Answer,
  status: number,
  code?: string,
  kind?: FailureKind,
): Finding[] {
  let got: string | undefined
  try {
    got = JSON.parse(a.text).code
  } catch {}
  if (a.status === status && (!code || got === code)) return []
  const k = a.status >= 500 || a.outcome !== 'answered' ? kindOf(a) : (kind ?? kindOf(a))
  return [{ kind: k, op, detail: `expected ${status}${code ? ` ${code}` : ''}, got ${show(a)}`, example: input }]
}

/** A failure unless an error answer is the contract's JSON with a Content-Type. */
export function expectJsonError(op: string, input: string, a: Answer): Finding[] {
  if (a.outcome !== 'answered') return [{ kind: kindOf(a), op, detail: show(a), example: input }]
  const why = a.status >= 400 ? errorShape(a) : null
  return why ? [{ kind: 'error-shape', op, detail: `${a.status}: ${why}`, example: input }] : []
}

const kindOf = (a: Answer): FailureKind =>
  a.outcome === 'timeout' ? 'hang' : a.status >= 500 ? '5xx' : a.outcome === 'answered' ? 'contract' : 'hang'

export function field(a: Answer, key: string): string | null {
  try {
    return JSON.parse(a.text)[key] ?? null
  } catch {
    return null
  }
}
