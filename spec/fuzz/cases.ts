/**
 * What one fuzz case is (an HTTP request, optionally sent over a raw socket with broken
 * framing, or a PTY WebSocket session), and the safety pass every generated body goes through.
 */
import { type PathSpec, renderPath } from './paths'
import type { RaceCase } from './races'
import type { RuntimeCase } from './runtimes'
import { Entries, type J, Late, SAFE_COMMANDS, Text } from './values'
import type { Kind, World } from './world'

export class PathRef extends Late {
  constructor(readonly spec: PathSpec) {
    super()
  }
  label(): string {
    return `path ${this.spec.prefix || '.'}/${this.spec.segs.map(s => (typeof s === 'string' ? s : `\\x${s.join(',')}`)).join('/')}${this.spec.long ? '/d×1500' : ''}`
  }
}
/** A hostile path as `path_base64` carries one: the base64 of its exact bytes. */
export class PathBase64Ref extends Late {
  constructor(readonly path: PathRef) {
    super()
  }
  label(): string {
    return `base64 of ${this.path.label()}`
  }
}
/** The n-th id of a kind the fuzz created (a fixed unknown id while there is none). */
export class IdRef extends Late {
  constructor(
    readonly kind: Kind,
    readonly n: number,
  ) {
    super()
  }
  label(): string {
    return `${this.kind} id #${this.n}`
  }
}

export const resolver = (w: World) => (late: Late) => {
  if (late instanceof PathRef) return renderPath(late.spec, w.layout)
  if (late instanceof PathBase64Ref)
    return Buffer.from(renderPath(late.path.spec, w.layout).toString(), 'latin1').toString('base64')
  if (late instanceof IdRef) return w.created.pick(late.kind, late.n) ?? `no-${late.kind}-yet`
  throw new Error(`unknown late value ${late.label()}`)
}

export type Body =
  | { json: J }
  | { raw: string; malformed: boolean }
  | { bytes: number[] }
  | { form: string }
  | { multipart: Part[]; boundary: string; headerBoundary: string | null; close: boolean }

export interface Part {
  name: string
  filename: string | null
  content: J | string
}

export interface RawFraming {
  /** null: no Host header at all. */
  host: string | null
  length: 'exact' | 'short' | 'long' | 'twice' | 'negative' | 'garbage' | 'chunked-bad'
  http10: boolean
  /** Send %XX escapes of the target as raw bytes (a non-UTF-8 request line). */
  rawTarget: boolean
}

export interface HttpCase {
  kind: 'http'
  op: string
  method: string
  /** The route with `{param}` / `*` still in it. */
  route: string
  params: Record<string, J>
  query: [string, J][]
  contentType: string | null
  origin: string | null
  /** Request headers some routes read (Range, If-Modified-Since, Last-Event-ID, …), hostile values. */
  headers: [string, string][]
  /** The access token as sent: the daemon's, none, or one that is not it. */
  token?: TokenForm
  body: Body | null
  raw: RawFraming | null
}

export type TokenForm = 'valid' | 'missing' | 'wrong' | 'prefix' | 'longer' | 'twice'

/** The header value for a token form (`twice`: two headers, as a client's would be joined). */
export function tokenValue(form: TokenForm, token: string): string | null {
  if (form === 'missing') return null
  if (form === 'wrong') return token.replace(/./g, c => (c === 'a' ? 'b' : 'a'))
  if (form === 'prefix') return token.slice(0, -1)
  if (form === 'longer') return `${token}x`
  if (form === 'twice') return `${token}, ${token}`
  return token
}

export type WsFrame = { text: string } | { json: J } | { binary: number[] }
export interface WsCase {
  kind: 'ws'
  query: [string, string][]
  frames: WsFrame[]
}

export type Case = HttpCase | WsCase | RaceCase | RuntimeCase

/** Names that make a shell, an interpreter or the loader do something when set in an environment. */
const LOADED =
  /^(bash_env|env|shellopts|bashopts|ps4|prompt_command|ld_.*|path|ifs|cdpath|home|pwd|pythonstartup|pythonpath|node_options)$/i
const RUNS = /^\s*(command|code|cmd)\s*$/i

function text(v: J): string | null {
  if (typeof v === 'string') return v
  if (v instanceof Text) return v.toString()
  return null
}

/**
 * Whatever the generators produced, a string under a command-like key is one of the allowlist
 * (or a known-harmless variant) and no environment key can load code. The generators already
 * aim for this; this pass makes it hold for random dictionaries and wrong-type mutations too.
 */
export function defang(v: J, key = ''): J {
  if (RUNS.test(key)) {
    const s = text(v)
    if (s !== null) return harmless(s) ? v : 'true'
    if (Array.isArray(v)) return v.map(x => defang(x, key))
  }
  if (Array.isArray(v)) return v.map(x => defang(x))
  if (v instanceof Entries) return new Entries(v.entries.map(([k, x]) => [k, defang(x, text(k) ?? '')]))
  if (v && typeof v === 'object' && !(v instanceof Late) && !(v instanceof Text) && v.constructor === Object) {
    const out: Record<string, J> = {}
    for (const [k, x] of Object.entries(v)) out[LOADED.test(k) ? `FZ_${k}` : k] = defang(x, k)
    return out
  }
  return v
}

function harmless(s: string): boolean {
  const core = s.replace(/\u0000echo y$/, '').replace(/ #\ud800$/, '')
  return (
    (SAFE_COMMANDS as readonly string[]).includes(core) ||
    /^\s*$/.test(s) ||
    /^echo x+$/.test(s) ||
    /^echo [\u00fe\u00ff]+x$/.test(s)
  )
}
