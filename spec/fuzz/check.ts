/**
 * The invariants every answer must hold, and the one place that says which 5xx answers are
 * genuine server-side faults rather than a client's.
 */
import type { HttpCase } from './cases'
import type { Answer } from './send'
import { SENTINEL_TEXT } from './world'

export type FailureKind =
  | 'crash'
  | '5xx'
  | 'error-shape'
  | 'hang'
  | 'malformed-accepted'
  | 'env-leak'
  | 'internals-leak'
  | 'escape'
  | 'stderr'
  | 'ws'
  | 'latency'
  | 'contract'
  | 'auth'
  | 'stream'
  | 'orphan'
  | 'zombie'
  | 'stray-temp'
  /** A capped pool's slot still held once every client left (quiescence.ts). */
  | 'leak'
  /** A failure known and not fixed yet, named where it is detected: printed, never failing a run. */
  | 'known'

export interface Violation {
  kind: FailureKind
  detail: string
}

/**
 * 5xx answers that are not a client's fault. Each entry says why; keep it short.
 * - A proxy to a loopback port nobody listens on is the upstream's failure: 502 is the answer
 *   a gateway owes (the fuzz only proxies to ports it owns: its echo server, a closed port, the
 *   daemon itself).
 */
const SERVER_FAULTS: { route: string; status: number; why: string }[] = [
  { route: '/proxy/*', status: 502, why: 'upstream port closed' },
]

export function serverFault(route: string, status: number): boolean {
  return SERVER_FAULTS.some(f => f.route === route && f.status === status)
}

/**
 * Requests whose HTTP framing is broken (a negative, non-numeric or doubled Content-Length, a
 * bad chunk size, HTTP/1.1 without Host, a request line with a bare space) are refused by
 * Bun's HTTP parser with an empty 400 (505 for an unparseable request line) before any of
 * execd's code runs: Bun 1.4.5 has no hook to render those, so they are the one place an error
 * is not JSON (README "Request limits"). Only that exact answer is excused.
 */
function refusedByHttpParser(c: HttpCase, a: Answer): boolean {
  if (!c.raw || a.text !== '' || a.headers.get('content-type')) return false
  const broken =
    ['negative', 'garbage', 'twice', 'chunked-bad'].includes(c.raw.length) ||
    (c.raw.host === null && !c.raw.http10) ||
    a.status === 505
  return broken && (a.status === 400 || a.status === 505)
}

/**
 * The fuzz's echo upstream is a plain Bun.serve: a request head past Bun's own 16 KiB (a long
 * path with hostile Range and Last-Event-ID values) it refuses with a bare 431, and execd relays
 * that as it relays any upstream's answer. Reproduced against the echo server alone.
 */
const refusedByEchoUpstream = (c: HttpCase, a: Answer) =>
  c.route === '/proxy/*' &&
  String(c.params['*'] ?? '').startsWith('{port:echo}') &&
  a.status === 431 &&
  a.text === '' &&
  !a.headers.get('content-type')

const wellFramed = (c: HttpCase) => !c.raw || (c.raw.length === 'exact' && c.raw.host === '{self}' && !c.raw.rawTarget)

export function violations(c: HttpCase, a: Answer, marker: string): Violation[] {
  return found(c, a, marker).map(v => ({ kind: v.kind, detail: v.detail.replace(/\s+/g, ' ') }))
}

function found(c: HttpCase, a: Answer, marker: string): Violation[] {
  const out: Violation[] = []
  if (a.outcome === 'timeout') return [{ kind: 'hang', detail: 'no answer within the bound' }]
  if (a.outcome !== 'answered') return []
  if (refusedByHttpParser(c, a)) return []
  // Without the token nothing but the checks before it (head size, requests in flight, the
  // browser defences) may answer: whatever else comes back was handled without authentication.
  if (c.token && c.token !== 'valid' && ![401, 403, 431, 503].includes(a.status))
    out.push({ kind: 'auth', detail: `${a.status} without the token (${c.token}): ${a.text.slice(0, 120)}` })
  if (a.status >= 500 && !serverFault(c.route, a.status))
    out.push({ kind: '5xx', detail: `${a.status} ${a.text.slice(0, 200)}` })
  if (a.status >= 400 && c.method !== 'HEAD' && !refusedByEchoUpstream(c, a)) {
    const shape = errorShape(a)
    if (shape) out.push({ kind: 'error-shape', detail: `${a.status}: ${shape}` })
  }
  // Whatever the Content-Type: a route with a JSON body reads any body as JSON, as the reference does.
  if (c.body && 'raw' in c.body && c.body.malformed && wellFramed(c) && a.status < 400)
    out.push({ kind: 'malformed-accepted', detail: `${a.status} for body ${JSON.stringify(c.body.raw)}` })
  if (a.text.includes(SENTINEL_TEXT))
    out.push({
      kind: 'escape',
      detail: `read beside the root: the answer holds the sentinel's text: ${a.text.slice(0, 160)}`,
    })
  if (echoes(a.text, marker) || (a.headers.get('content-disposition') ?? '').includes(marker))
    out.push({ kind: 'env-leak', detail: `the answer holds $FUZZ_MARK's value: ${a.text.slice(0, 200)}` })
  if (/\$bunfs|node_modules\/|<html|\bat .*\.ts:\d+/i.test(a.status >= 400 ? a.text : ''))
    out.push({ kind: 'internals-leak', detail: a.text.slice(0, 200) })
  return out
}

/** Why an error answer is not the contract's JSON `{code, message}` (401: the reference's `{error}`). */
export function errorShape(a: { status: number; headers: Headers; text: string }): string | null {
  const ct = a.headers.get('content-type')
  if (!ct) return `no Content-Type (body ${JSON.stringify(a.text.slice(0, 80))})`
  if (!/json/i.test(ct)) return `Content-Type ${ct} (body ${JSON.stringify(a.text.slice(0, 80))})`
  let body: any
  try {
    body = JSON.parse(a.text)
  } catch {
    return `body is not JSON: ${JSON.stringify(a.text.slice(0, 80))}`
  }
  if (a.status === 401 && typeof body?.error === 'string') return null
  if (typeof body?.code !== 'string' || typeof body?.message !== 'string')
    return `body is not {code, message}: ${a.text.slice(0, 120)}`
  return null
}

/** Lines of the daemon's stderr that mean something escaped its handlers. */
export function stderrFailures(logs: string): string[] {
  const failure = /uncaught|unhandled|panic|segmentation|Bun has crashed/i
  // Of execd's own (JSON) lines only the message counts: one may quote another program's error
  // (a Jupyter server's 500 "Unhandled error"), which is no crash of execd.
  const message = (l: string) => {
    if (!l.startsWith('{')) return l
    try {
      return String(JSON.parse(l).msg)
    } catch {
      return l
    }
  }
  return logs
    .split('\n')
    .filter(l => failure.test(message(l)))
    .slice(0, 20)
}

/**
 * Whether the answer repeats the marker other than as the `path` of an entry on disk: a cwd or a
 * files path `a$FUZZ_MARK` makes a name that is the expansion, asked for by a case, and a later
 * listing of its directory rightly shows it (fuzz.test failed so, at random, on a listing).
 */
function echoes(text: string, marker: string): boolean {
  if (!text.includes(marker)) return false
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return true
  }
  const rest = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rest)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== 'path')
              .map(([k, x]) => [k, rest(x)]),
          )
        : v
  return JSON.stringify(rest(body)).includes(marker)
}
