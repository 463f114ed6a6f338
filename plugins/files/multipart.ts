/**
 * A streaming multipart/form-data parser (RFC 7578) over a Web ReadableStream. Parts come out
 * one at a time with their bodies as async iterables of slices; nothing is buffered beyond one
 * network chunk plus a delimiter's length, so memory stays flat for any upload size, and a
 * slow consumer (the disk) slows the reading of the request (backpressure).
 */
import { ExecdError } from '../../core/errors'

interface MultipartPart {
  /** `name` of Content-Disposition. */
  name: string
  /** `filename` if the part is a file part. */
  filename?: string
  contentType?: string
  /** The part's bytes. Must be consumed (or abandoned) before asking for the next part. */
  body: AsyncIterable<Uint8Array>
}

const MAX_HEADER_BYTES = 16 * 1024
const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')

/** The boundary of a multipart/form-data Content-Type, or undefined if it is not one. */
export function boundaryOf(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  const boundary = m?.[1] ?? m?.[2]
  if (!boundary || boundary.length > 200) return undefined
  return boundary
}

const malformed = (why: string) => new ExecdError('INVALID_FILE', `malformed multipart body: ${why}`)

/** Pulls chunks from the request body; `limit` counts every byte read (413 past it). */
class ChunkSource {
  buf: Buffer = Buffer.alloc(0)
  eof = false
  total = 0
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly limit: number,
  ) {
    this.reader = stream.getReader()
  }

  /** Reads one more chunk onto `buf`; false at the end of the stream. */
  async fill(): Promise<boolean> {
    if (this.eof) return false
    const { value, done } = await this.reader.read()
    if (done) {
      this.eof = true
      return false
    }
    this.total += value.byteLength
    if (this.total > this.limit) {
      throw new ExecdError('PAYLOAD_TOO_LARGE', `upload exceeds the limit of ${this.limit} bytes`)
    }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    return true
  }

  /** Waits until `buf` holds at least n bytes (false if the stream ends first). */
  async need(n: number): Promise<boolean> {
    while (this.buf.length < n) if (!(await this.fill())) return false
    return true
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {})
  }
}

/**
 * Yields the parts of a multipart body in order. Throws INVALID_FILE for a malformed body,
 * PAYLOAD_TOO_LARGE past `maxBytes`, or the stream's own error when the client goes away.
 */
export async function* parseMultipart(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  maxBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<MultipartPart> {
  const src = new ChunkSource(stream, maxBytes)
  // A leading CRLF makes the first delimiter look like every other one.
  src.buf = Buffer.from(CRLF)
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  try {
    // Preamble: everything before the first delimiter is ignored.
    for (;;) {
      const at = src.buf.indexOf(delimiter)
      if (at >= 0) {
        src.buf = src.buf.subarray(at + delimiter.length)
        break
      }
      src.buf = src.buf.subarray(Math.max(0, src.buf.length - delimiter.length + 1))
      if (!(await src.fill())) throw malformed('no boundary found')
    }
    for (;;) {
      if (!(await src.need(2))) throw malformed('unexpected end after a boundary')
      if (src.buf[0] === 0x2d && src.buf[1] === 0x2d) return // closing delimiter `--`
      // Transport padding (spaces/tabs) may follow a delimiter before its CRLF.
      let headerEnd: number
      for (;;) {
        headerEnd = src.buf.indexOf(HEADER_END)
        if (headerEnd >= 0) break
        if (src.buf.length > MAX_HEADER_BYTES) throw malformed('part headers too long')
        if (!(await src.fill())) throw malformed('unexpected end in part headers')
      }
      const head = src.buf.subarray(0, headerEnd).toString('utf8')
      src.buf = src.buf.subarray(headerEnd + HEADER_END.length)
      const part = parseHeaders(head)
      let finished = false
      const body = partBody(src, delimiter, () => (finished = true))
      yield { ...part, body }
      // Drain whatever the consumer left unread.
      if (!finished) for await (const _ of body);
    }
  } finally {
    await src.cancel()
  }
}

async function* partBody(src: ChunkSource, delimiter: Buffer, onEnd: () => void): AsyncGenerator<Uint8Array> {
  for (;;) {
    const at = src.buf.indexOf(delimiter)
    if (at >= 0) {
      const data = src.buf.subarray(0, at)
      src.buf = src.buf.subarray(at + delimiter.length)
      onEnd()
      if (data.length) yield data
      return
    }
    // Keep a delimiter's length minus one: it may be the start of a delimiter split across chunks.
    const safe = src.buf.length - (delimiter.length - 1)
    if (safe > 0) {
      const data = src.buf.subarray(0, safe)
      src.buf = src.buf.subarray(safe)
      yield data
    }
    if (!(await src.fill())) throw malformed('unexpected end of the body (upload cut short?)')
  }
}

function parseHeaders(head: string): Omit<MultipartPart, 'body'> {
  let disposition = ''
  let contentType: string | undefined
  // The first line is what follows the delimiter: transport padding, then nothing.
  const [padding = '', ...lines] = head.split('\r\n')
  if (padding.trim() !== '') throw malformed('garbage after a boundary')
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const key = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (key === 'content-disposition') disposition = value
    else if (key === 'content-type') contentType = value
  }
  if (!/^form-data\b/i.test(disposition)) throw malformed('part without Content-Disposition: form-data')
  const params = dispositionParams(disposition)
  if (params.name === undefined) throw malformed('part without a name')
  return { name: params.name, filename: params['filename*'] ?? params.filename, contentType }
}

function dispositionParams(value: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const [, name = '', quoted, bare = ''] = m
    const key = name.toLowerCase()
    let v = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare.trim()
    if (key === 'filename*') {
      const [, encoded = v] = /^[^']*'[^']*'(.*)$/.exec(v) ?? []
      try {
        v = decodeURIComponent(encoded)
      } catch {}
    }
    out[key] = v
  }
  return out
}
