/**
 * Sends one HTTP case (fetch, or a raw socket when its framing is broken on purpose) and
 * reads the answer, bounded in time; records the ids the daemon hands out.
 */
import { type Body, type HttpCase, resolver, tokenValue } from './cases'
import { urlEncode } from './paths'
import { clearing } from './stream'
import { Text, toBytes, type J } from './values'
import { type Kind, removeOne, type World } from './world'

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** The daemon did not answer in time (a hang), or closed without answering. */
  outcome: 'answered' | 'timeout' | 'closed' | 'waiting-for-body'
}

export interface Ports {
  echo: number
  closed: number
}

const enc = new TextEncoder()
const str = (v: J): string => (v instanceof Text ? v.toString() : typeof v === 'string' ? v : JSON.stringify(v))

export function target(c: HttpCase, w: World, ports: Ports): string {
  const resolve = resolver(w)
  let path = c.route
  for (const [name, v] of Object.entries(c.params)) {
    const value = v && typeof v === 'object' && 'label' in v ? resolve(v as never) : v
    if (name === '*') {
      const port = (value as Text).toString().replace(/\{port:([^}]*)\}/, (_m, p: string) => proxyPort(p, w, ports))
      path = path.replace('*', port)
    } else path = path.replace(`{${name}}`, urlEncode(value instanceof Text ? value : str(value)))
  }
  const q = c.query.map(([k, v]) => {
    const value = v && typeof v === 'object' && 'label' in v ? resolve(v as never) : v
    return `${urlEncode(k)}=${urlEncode(value instanceof Text ? value : str(value))}`
  })
  return q.length ? `${path}?${q.join('&')}` : path
}

/**
 * Proxy targets: only loopback ports the fuzz owns (its echo server, a closed port, the daemon).
 * Odd spellings (` 123`, `123.0`, `0x7b`, a port plus 2¹⁶ or 2³²) all name the closed port, so
 * a lenient or wrapping parser still reaches nothing else.
 */
function proxyPort(p: string, w: World, ports: Ports): string {
  const map: Record<string, string> = {
    echo: String(ports.echo),
    self: new URL(w.daemon.url).port,
    '65536+closed': String(65536 + ports.closed),
    '4294967296+closed': String(4294967296 + ports.closed),
    '0xclosed': `0x${ports.closed.toString(16)}`,
  }
  return map[p] ?? p.replace('closed', String(ports.closed))
}

export function bodyBytes(b: Body, w: World): { bytes: Uint8Array; contentType?: string } {
  if ('json' in b) return { bytes: toBytes(b.json, resolver(w)) }
  if ('raw' in b) return { bytes: enc.encode(b.raw) }
  if ('bytes' in b) return { bytes: Uint8Array.from(b.bytes) }
  if ('form' in b) return { bytes: enc.encode(b.form) }
  const chunks: Uint8Array[] = []
  for (const p of b.multipart) {
    const disp = `form-data; name="${p.name}"${p.filename === null ? '' : `; filename="${p.filename}"`}`
    chunks.push(enc.encode(`--${b.boundary}\r\nContent-Disposition: ${disp}\r\n\r\n`))
    chunks.push(typeof p.content === 'string' ? enc.encode(p.content) : toBytes(p.content, resolver(w)))
    chunks.push(enc.encode('\r\n'))
  }
  if (b.close) chunks.push(enc.encode(`--${b.boundary}--\r\n`))
  const ct = b.headerBoundary === null ? 'multipart/form-data' : `multipart/form-data; boundary=${b.headerBoundary}`
  return { bytes: Buffer.concat(chunks), contentType: ct }
}

export async function send(c: HttpCase, w: World, ports: Ports, limitMs: number): Promise<Answer> {
  const path = target(c, w, ports)
  const body = c.body ? bodyBytes(c.body, w) : null
  const headers: Record<string, string> = {}
  const token = tokenValue(c.token ?? 'valid', w.daemon.token)
  if (token !== null) headers['X-EXECD-ACCESS-TOKEN'] = token
  const ct = body?.contentType ?? c.contentType
  if (ct) headers['content-type'] = ct
  for (const [name, value] of c.headers ?? []) headers[name] = value
  if (c.origin) headers.origin = c.origin === '{self}' ? w.daemon.url : c.origin
  const sending = () =>
    c.raw
      ? sendRaw(c, w, path, headers, body?.bytes ?? new Uint8Array(), limitMs)
      : sendFetch(c, w, path, headers, body?.bytes ?? null, limitMs)
  const answer = c.method === 'DELETE' && c.route === '/code/contexts' ? await clearing(w, sending) : await sending()
  if (answer.outcome === 'answered') await remember(c, answer, w)
  return answer
}

async function sendFetch(
  c: HttpCase,
  w: World,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | null,
  limitMs: number,
): Promise<Answer> {
  const signal = AbortSignal.timeout(limitMs)
  try {
    const res = await fetch(w.daemon.url + path, {
      method: c.method,
      headers,
      body: c.method === 'GET' || c.method === 'HEAD' ? undefined : (body as BodyInit | null),
      signal,
      redirect: 'manual',
    })
    const text = await readBody(res, c)
    return { status: res.status, headers: res.headers, text, outcome: 'answered' }
  } catch (err) {
    if (signal.aborted) return { status: 0, headers: new Headers(), text: String(err), outcome: 'timeout' }
    return { status: 0, headers: new Headers(), text: String(err), outcome: 'closed' }
  }
}

/** The whole body, except a stream that never ends by design (metrics/watch): its first chunk. */
async function readBody(res: Response, c: HttpCase): Promise<string> {
  if (!res.body) return ''
  if (c.route === '/metrics/watch' && res.status === 200) {
    const reader = res.body.getReader()
    const first = await reader.read()
    await reader.cancel()
    return new TextDecoder().decode(first.value)
  }
  return await res.text()
}

/** How many of each kind stay alive; an isolated session holds a sandbox, so fewer of those. */
const KEEP: Record<Kind, number> = { session: 6, pty: 6, context: 6, command: 0, execution: 0, isolated: 2 }

async function remember(c: HttpCase, a: Answer, w: World): Promise<void> {
  if (a.status >= 300) return
  const add = async (kind: Kind, id: unknown) => {
    if (typeof id !== 'string' || !id) return
    w.created.add(kind, id)
    const all = w.created.all(kind)
    // Keep only a few alive so no cap is reached and the machine stays light.
    const [oldest] = all
    if (kind !== 'command' && kind !== 'execution' && all.length > KEEP[kind] && oldest !== undefined)
      await removeOne(w.daemon, w.created, kind, oldest)
  }
  const json = () => {
    try {
      return JSON.parse(a.text)
    } catch {
      return {}
    }
  }
  if (c.method !== 'POST') return
  if (c.route === '/session') await add('session', json().session_id)
  else if (c.route === '/pty') await add('pty', json().session_id)
  else if (c.route === '/code/context') await add('context', json().id)
  else if (c.route === '/command') await add('command', /"type":"init","text":"([^"]+)"/.exec(a.text)?.[1])
  else if (c.route === '/code') await add('execution', a.headers.get('execd-execution-id'))
  else if (c.route === '/v1/isolated/session') await add('isolated', json().session_id)
}

/** Writes the request bytes as given (odd Host, lengths, HTTP/1.0, raw bytes in the target). */
async function sendRaw(
  c: HttpCase,
  w: World,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
  limitMs: number,
): Promise<Answer> {
  const f = c.raw!
  const url = new URL(w.daemon.url)
  const lines = [`${c.method} ${path} HTTP/1.${f.http10 ? 0 : 1}`]
  if (f.host !== null) lines.push(`Host: ${f.host === '{self}' ? url.host : f.host}`)
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  lines.push('Connection: close')
  let payload = body
  const n = body.length
  if (f.length === 'exact') lines.push(`Content-Length: ${n}`)
  else if (f.length === 'short') lines.push(`Content-Length: ${Math.max(0, n - 1)}`)
  else if (f.length === 'long') lines.push(`Content-Length: ${n + 10}`)
  else if (f.length === 'twice') lines.push(`Content-Length: ${n}`, `Content-Length: ${n + 1}`)
  else if (f.length === 'negative') lines.push('Content-Length: -1')
  else if (f.length === 'garbage') lines.push('Content-Length: abc')
  else {
    lines.push('Transfer-Encoding: chunked')
    payload = Buffer.concat([enc.encode('zz\r\n'), body, enc.encode('\r\n0\r\n\r\n')])
  }
  let head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
  if (f.rawTarget)
    head = Buffer.from(
      head.toString('latin1').replace(/%([89A-F][0-9A-F])/g, (_m, h) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    )
  const received: Buffer[] = []
  let closed = false
  const socket = await Bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      data: (_s, d) => void received.push(Buffer.from(d)),
      close: () => void (closed = true),
      error: () => void (closed = true),
    },
  }).catch(() => null)
  if (!socket) return { status: 0, headers: new Headers(), text: 'connection refused', outcome: 'closed' }
  socket.write(Buffer.concat([head, payload]))
  const deadline = Date.now() + (f.length === 'long' ? Math.min(limitMs, 1500) : limitMs)
  while (!closed && Date.now() < deadline && !complete(Buffer.concat(received))) await Bun.sleep(5)
  socket.terminate()
  const all = Buffer.concat(received)
  if (all.length === 0) {
    const outcome = closed ? 'closed' : f.length === 'long' ? 'waiting-for-body' : 'timeout'
    return { status: 0, headers: new Headers(), text: '', outcome }
  }
  return parse(all)
}

function complete(buf: Buffer): boolean {
  while (/^HTTP\/1\.\d 1(?!01)\d\d /.test(buf.subarray(0, 16).toString('latin1'))) {
    const interim = buf.indexOf('\r\n\r\n')
    if (interim < 0) return false
    buf = buf.subarray(interim + 4)
  }
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return false
  const head = buf.subarray(0, end).toString('latin1')
  const len = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (len) return buf.length - end - 4 >= Number(len[1])
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return buf.includes('\r\n0\r\n\r\n')
  return false
}

function parse(buf: Buffer): Answer {
  // An interim answer (`100 Continue` to `Expect: 100-continue`, sent by Bun before any of
  // execd's code runs) comes before the one that counts.
  while (/^HTTP\/1\.\d 1(?!01)\d\d /.test(buf.subarray(0, 16).toString('latin1'))) {
    const interim = buf.indexOf('\r\n\r\n')
    if (interim < 0) break
    buf = buf.subarray(interim + 4)
  }
  const end = buf.indexOf('\r\n\r\n')
  const head = buf
    .subarray(0, end < 0 ? buf.length : end)
    .toString('latin1')
    .split('\r\n')
  const [statusLine = '', ...lines] = head
  const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers = new Headers()
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  let body = end < 0 ? Buffer.alloc(0) : buf.subarray(end + 4)
  // Bytes past the first answer belong to a second one (the leftover of a short Content-Length).
  const length = headers.get('content-length')
  if (length !== null && /^\d+$/.test(length)) body = body.subarray(0, Number(length))
  else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) body = dechunk(body)
  return { status, headers, text: body.toString('utf8'), outcome: 'answered' }
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = []
  let i = 0
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i)
    if (eol < 0) break
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16)
    if (!size) break
    out.push(buf.subarray(eol + 2, eol + 2 + size))
    i = eol + 2 + size + 2
  }
  return Buffer.concat(out)
}
