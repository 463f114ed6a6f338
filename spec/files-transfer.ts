/** Helpers for the files spec tests: streamed multipart uploads, hashing downloads, execd's memory. */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** Deterministic pseudo-random bytes, generated chunk by chunk (never the whole thing in memory). */
export function* patternChunks(total: number, chunk = 1 << 20): Generator<Uint8Array> {
  let seed = 0x9e3779b9
  for (let sent = 0; sent < total;) {
    const n = Math.min(chunk, total - sent)
    const buf = new Uint8Array(n)
    const view = new DataView(buf.buffer)
    for (let i = 0; i + 4 <= n; i += 4) {
      seed = (seed * 1664525 + 1013904223) >>> 0
      view.setUint32(i, seed)
    }
    sent += n
    yield buf
  }
}

export function sha256Of(chunks: Iterable<Uint8Array>): string {
  const h = createHash('sha256')
  for (const c of chunks) h.update(c)
  return h.digest('hex')
}

/** A multipart body (metadata + file pairs, as the SDK frames them) as a stream. */
export function multipartStream(
  boundary: string,
  files: { meta: object; chunks: () => Iterable<Uint8Array> }[],
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  async function* parts() {
    for (const f of files) {
      yield enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n` +
          `Content-Type: application/json\r\n\r\n${JSON.stringify(f.meta)}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\n` +
          `Content-Type: application/octet-stream\r\n\r\n`,
      )
      for (const c of f.chunks()) yield c
      yield enc.encode('\r\n')
    }
    yield enc.encode(`--${boundary}--\r\n`)
  }
  const it = parts()
  return new ReadableStream({
    async pull(c) {
      const { value, done } = await it.next()
      if (done) c.close()
      else c.enqueue(value)
    },
  })
}

/** Hashes a response body as it streams; returns [bytes, sha256]. */
export async function hashBody(res: Response): Promise<[number, string]> {
  const h = createHash('sha256')
  let n = 0
  const reader = res.body!.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    h.update(value)
    n += value.byteLength
  }
  return [n, h.digest('hex')]
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}
