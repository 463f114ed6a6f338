/**
 * A streaming multipart/form-data parser (RFC 7578) over a Web ReadableStream. Parts come out
 * one at a time with their bodies as async iterables of slices; nothing is buffered beyond
 * about 1 MiB (two write slices) plus a network chunk, so memory stays flat for any upload
 * size, and a slow consumer (the disk) slows the reading of the request (backpressure).
 */
import { freeChunk } from '../../core/chunks'
import { ExecdError } from '../../core/errors'
import { MinRate, PacedReader, type MinRateLimits } from '../../core/min-rate'

interface MultipartPart {
  /** `name` of Content-Disposition. */
  name: string
  /** `filename` if the part is a file part. */
  filename?: string
  contentType?: string
  /**
   * The part's bytes. Must be consumed (or abandoned) before asking for the next part. A slice
   * is valid only until the next slice is asked for (its memory is reused): write or copy it.
   */
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

/**
 * Buffer.concat, as Bun has it, copies at about 1 GiB/s (a 1 MiB slice of 32 pieces: 1 ms);
 * allocUnsafe + set is 7–13× faster. Its copy was the largest cost of an upload.
 */
function joinBytes(pieces: readonly Uint8Array[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const malformed = (why: string) => new ExecdError('INVALID_FILE', `malformed multipart body: ${why}`)

/** Chunks read before the event loop gets a turn. */
const CHUNKS_PER_TURN = 4096

/**
 * Pulls chunks from the request body; `limit` counts every byte read (413 past it). `buf` is
 * the input not parsed yet: a view of the last chunk read, or a copy; every chunk is freed as
 * soon as nothing of it is left to parse (the stream's chunks are the parser's: a request
 * body's are), so nothing handed out of the parser may view one.
 */
class ChunkSource {
  buf: Buffer = Buffer.alloc(0)
  /** The stream chunk `buf` is a view of, if it is one. */
  private owner: Uint8Array | undefined
  eof = false
  total = 0
  private chunks = 0
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly paced: PacedReader<Uint8Array>

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly limit: number,
    minRate?: MinRateLimits,
  ) {
    this.reader = stream.getReader()
    this.paced = new PacedReader(this.reader, minRate ? new MinRate(minRate) : undefined)
  }

  /** The next chunk of the stream, not added to `buf`; undefined at its end. */
  async read(): Promise<Buffer | undefined> {
    if (this.eof) return undefined
    // Reads of chunks Bun has queued resolve without the event loop turning: an upload of 2 MB
    // in 1-byte chunks held /ping 3.3 s and took 2.2 s of CPU; with a turn every
    // CHUNKS_PER_TURN chunks, 60-110 ms and 0.2 s.
    if (++this.chunks % CHUNKS_PER_TURN === 0) await new Promise<void>(resolve => setImmediate(resolve))
    const { value, done } = await this.paced.read()
    if (done) {
      this.eof = true
      return undefined
    }
    this.total += value.byteLength
    if (this.total > this.limit) {
      throw new ExecdError('PAYLOAD_TOO_LARGE', `upload exceeds the limit of ${this.limit} bytes`)
    }
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  }

  /** Continues with `chunk` alone: the caller has taken (copied) what `buf` held. */
  restart(chunk: Buffer): void {
    if (this.owner) freeChunk(this.owner)
    this.buf = chunk
    this.owner = chunk
  }

  /** Adds `chunk` after what `buf` holds (copying both, unless `buf` is empty). */
  append(chunk: Buffer): void {
    if (this.buf.length === 0) return this.restart(chunk)
    this.buf = joinBytes([this.buf, chunk], this.buf.length + chunk.length)
    if (this.owner) freeChunk(this.owner)
    freeChunk(chunk)
    this.owner = undefined
  }

  /** Reads one more chunk onto `buf`; false at the end of the stream. */
  async fill(): Promise<boolean> {
    const chunk = await this.read()
    if (!chunk) return false
    this.append(chunk)
    return true
  }

  /** Waits until `buf` holds at least n bytes (false if the stream ends first). */
  async need(n: number): Promise<boolean> {
    while (this.buf.length < n) if (!(await this.fill())) return false
    return true
  }

  async cancel(): Promise<void> {
    this.paced.stop()
    await this.reader.cancel().catch(() => {})
  }
}

/**
 * Yields the parts of a multipart body in order. Throws INVALID_FILE for a malformed body,
 * PAYLOAD_TOO_LARGE past `maxBytes`, REQUEST_TIMEOUT when the body arrives slower than
 * `minRate` (core/min-rate.ts), or the stream's own error when the client goes away.
 */
export async function* parseMultipart(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  maxBytes = Number.POSITIVE_INFINITY,
  minRate?: MinRateLimits,
): AsyncGenerator<MultipartPart> {
  const src = new ChunkSource(stream, maxBytes, minRate)
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
        // Measured where they end too: headers that came whole in one network chunk were
        // accepted at any length that chunk allowed (64 KiB), only split ones were refused.
        if (headerEnd > MAX_HEADER_BYTES) throw malformed('part headers too long')
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

/**
 * A part's bytes, handed on in slices of about WRITE_BYTES: a network chunk (64–128 KiB as the
 * upload stream delivers them) per slice cost the file a write and a thread-pool round trip
 * each. Every byte is copied once, into one slab per part that is reused for every slice (a
 * fresh 1 MiB per slice was page-faulted in each time), so each chunk can be freed as soon as
 * it is copied; the few bytes kept back at a chunk's end (a delimiter may start there) are
 * checked against the next chunk's start rather than copied onto it. The slab is safe to
 * reuse because a slice is only valid until the next one is asked for (MultipartPart.body),
 * and both consumers write or copy it before that.
 *
 * 512 KiB, not the 1 MiB it was: the kernel (6.18, ext4 with large folios) gives each write to
 * the end of a file a page-cache folio as large as the write, and a 1 MiB folio comes from the
 * allocator's large free blocks — on a VM whose host takes the guest's free 2 MiB blocks back
 * (virtio-balloon free page reporting, as on this machine) blocks the host must fault in again,
 * page by page, inside the write's copy. 1 GiB written with fdatasync every 16 MiB, as here:
 * in 1 MiB writes 0.33–1.02 s of system time, in 512 KiB writes 0.28–0.46 s (dearer in each
 * of 5 rounds; 64 and 256 KiB like 512); in one profile of two 1 GiB uploads that copy was half of execd's CPU
 * (7,664 samples against the Bun floor's 893 for the same bytes in 64 KiB writes). Not smaller:
 * with the pages at hand, 256 KiB slices cost an upload 1.70 s of CPU per GiB against 1.49 s
 * for 1 MiB and 1.51 s for 512 KiB (6 alternations).
 */
const WRITE_BYTES = 512 << 10

async function* partBody(src: ChunkSource, delimiter: Buffer, onEnd: () => void): AsyncGenerator<Uint8Array> {
  // A delimiter's length minus one: what may be the start of a delimiter split across chunks.
  const hold = delimiter.length - 1
  let slab: Buffer | undefined
  let filled = 0
  const put = (bytes: Buffer) => {
    if (bytes.length === 0) return
    if (!slab || filled + bytes.length > slab.length) {
      // Grown as the part grows, up to two slices: a slab of 2 MiB for every part, however
      // small, stayed reserved with the file it was staged for until the request ended (an
      // upload of 3,400 one-byte files took execd's address space to 15 GB).
      const want = filled + bytes.length
      const larger = Buffer.allocUnsafe(Math.max(want, Math.min(2 * WRITE_BYTES, 2 * want)))
      if (slab) larger.set(slab.subarray(0, filled))
      slab = larger
    }
    slab.set(bytes, filled)
    filled += bytes.length
  }
  for (;;) {
    const at = src.buf.indexOf(delimiter)
    if (at >= 0) {
      put(src.buf.subarray(0, at))
      src.buf = src.buf.subarray(at + delimiter.length)
      onEnd()
      if (slab && filled > 0) yield slab.subarray(0, filled)
      return
    }
    const safe = src.buf.length - hold
    if (safe > 0) {
      put(src.buf.subarray(0, safe))
      src.buf = src.buf.subarray(safe)
    }
    if (slab && filled >= WRITE_BYTES) {
      yield slab.subarray(0, filled)
      filled = 0
    }
    const chunk = await src.read()
    if (!chunk) throw malformed('unexpected end of the body (upload cut short?)')
    const tail = src.buf
    if (tail.length > 0 && chunk.length >= hold) {
      // Every delimiter starting in the tail ends within the chunk's first bytes: none there,
      // and the tail is plain data.
      const seam = joinBytes([tail, chunk.subarray(0, hold)], tail.length + hold)
      if (seam.indexOf(delimiter) < 0) {
        put(tail)
        src.restart(chunk)
        continue
      }
    }
    src.append(chunk)
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
