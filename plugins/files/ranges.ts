/** HTTP byte ranges (RFC 9110 §14) for downloads: one range served, several ignored (the whole file). */
import { ExecdError } from '../../core/errors'

interface ByteRange {
  start: number
  /** Inclusive. */
  end: number
}

const unsatisfiable = (size: number, why: string) =>
  new ExecdError('RANGE_NOT_SATISFIABLE', `invalid range: ${why}`, {
    headers: { 'content-range': `bytes */${size}` },
  })

/**
 * The range a `Range` header asks for, clipped to the file; undefined when it asks for two or
 * more satisfiable ones: then the whole file is answered (200), as RFC 9110 lets a server ignore
 * Range. Only the first was served, as one 206 (the reference's way): a client that asked for
 * `0-1,5-6` got bytes 0-1 alone, curl writing them as if they were all it asked for. The whole
 * file is what curl, browsers and the SDK (which reads the body as the file, multipart or not)
 * all take as it is; multipart/byteranges only curl would have shown, raw. Ranges that cannot be
 * satisfied are left out (`200-300,5-6` of 100 bytes is 5-6, a 206). A malformed header or one
 * with no satisfiable range → 416 RANGE_NOT_SATISFIABLE with `Content-Range: bytes *\/size`.
 */
export function parseRange(header: string, size: number): ByteRange | undefined {
  const [, list] = /^\s*bytes\s*=\s*(.*)$/i.exec(header) ?? []
  if (list === undefined) throw unsatisfiable(size, `unsupported unit in '${header}' (bytes=start-end expected)`)
  const specs = list
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
  if (!specs.length) throw unsatisfiable(size, `no range in '${header}'`)
  let first: ByteRange | undefined
  let satisfiable = 0
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec)
    if (!r || (r[1] === '' && r[2] === '')) throw unsatisfiable(size, `malformed range '${spec}'`)
    let range: ByteRange | undefined
    if (r[1] === '') {
      // Suffix: the last n bytes.
      const n = Number(r[2])
      if (n > 0 && size > 0) range = { start: Math.max(0, size - n), end: size - 1 }
    } else {
      const start = Number(r[1])
      if (r[2] !== '' && Number(r[2]) < start) throw unsatisfiable(size, `range end before start in '${spec}'`)
      const end = r[2] === '' ? size - 1 : Number(r[2])
      if (start < size) range = { start, end: Math.min(end, size - 1) }
    }
    if (!range) continue
    satisfiable++
    first ??= range
  }
  if (!first) throw unsatisfiable(size, `failed to overlap (file size ${size})`)
  return satisfiable === 1 ? first : undefined
}

/**
 * `attachment; filename="name"`, and for non-ASCII names the percent-encoded form in both
 * parameters (`filename*=UTF-8''…`, RFC 5987), byte for byte as the reference formats it. An
 * ASCII name that cannot stand in a quoted string as it is — a control character, `"` or a backslash —
 * is percent-encoded too: a newline made the header invalid (a 500 from the runtime, the file
 * never downloadable) and a quote ended the parameter, so `a"; filename*=UTF-8''x.sh` named the
 * download `x.sh`.
 */
export function contentDisposition(name: string | Buffer): string {
  if (typeof name !== 'string' && name.every(b => b < 0x80)) name = name.toString()
  if (typeof name === 'string' && !/[^\x20-\x7e]|["\\]/.test(name)) return `attachment; filename="${name}"`
  const encoded = pathEscape(name)
  return `attachment; filename="${encoded}"; filename*=UTF-8''${encoded}`
}

/**
 * Go's url.PathEscape: unreserved characters and `$&+:=@` stay (`,` and `;` are escaped in a
 * segment), everything else %XX. Bytes that are not UTF-8 are escaped as they are, as Go does.
 */
function pathEscape(s: string | Buffer): string {
  let out = ''
  for (const byte of typeof s === 'string' ? Buffer.from(s, 'utf8') : s) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
