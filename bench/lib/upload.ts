/**
 * A `POST /files/upload` as the official SDK shapes it (a `metadata` file part, then the
 * `file` part), with the file streamed from disk so the client never holds it in memory.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Execd } from './execd'
import { spawnTracked } from './procs'
import { curlUploadForm } from '../../spec/kit/curl-upload'

export async function uploadFile(d: Execd, src: string, dest: string, bytes: number): Promise<void> {
  const boundary = `bench${crypto.randomUUID().replace(/-/g, '')}`
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n` +
      `Content-Type: application/json\r\n\r\n${JSON.stringify({ path: dest, mode: 644 })}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  )
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`)
  const parts = (async function* () {
    yield head
    const reader = Bun.file(src).stream().getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      yield value
    }
    yield tail
  })()
  // Pull-based: the next chunk is read from disk only when fetch has sent the last one.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await parts.next()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: () => void parts.return(undefined),
  })
  const res = await fetch(`${d.url}/files/upload`, {
    method: 'POST',
    body,
    headers: {
      ...d.headers,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.byteLength + bytes + tail.byteLength),
    },
    duplex: 'half',
  } as RequestInit)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST /files/upload: ${res.status} ${text.slice(0, 300)}`)
  const written = Bun.file(dest).size
  if (written !== bytes) throw new Error(`upload wrote ${written} of ${bytes} bytes to ${dest}`)
}

/**
 * The same upload through `curl -F` (a metadata file part, then the file streamed from disk):
 * a client that costs a fraction of the Bun one above (1.2 vs 2.7 s of CPU per GiB), so that
 * on a small machine the rate says more about execd than about its client. The token goes in a
 * header file, not on curl's command line. Returns the CPU seconds curl used. `raw`: the
 * server is row 5f's floor, which writes the whole body (framing too) to `dest`.
 */
export async function uploadFileWithCurl(
  d: Pick<Execd, 'url' | 'headers'>,
  curl: string,
  dir: string,
  src: string,
  dest: string,
  bytes: number,
  { raw = false } = {},
): Promise<number> {
  const meta = join(dir, 'curl-metadata.json')
  const headers = join(dir, 'curl-headers.txt')
  writeFileSync(meta, JSON.stringify({ path: dest, mode: 644 }))
  // An empty Expect: curl would otherwise wait for a 100 Continue before a large body.
  const lines = [...Object.entries(d.headers).map(([k, v]) => `${k}: ${v}`), 'Expect:']
  writeFileSync(headers, `${lines.join('\n')}\n`, { mode: 0o600 })
  const proc = spawnTracked(
    [
      curl,
      '--silent',
      '--show-error',
      '--output',
      '/dev/null',
      '--write-out',
      '%{http_code}',
      ...curlUploadForm(headers, meta, src),
      `${d.url}/files/upload${raw ? `?path=${encodeURIComponent(dest)}` : ''}`,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  )
  const [status, err] = await Promise.all([
    new Response(proc.stdout as ReadableStream<Uint8Array>).text(),
    new Response(proc.stderr as ReadableStream<Uint8Array>).text(),
    proc.exited,
  ])
  if (status !== '200') throw new Error(`curl POST /files/upload: ${status} ${err.slice(0, 300)}`)
  const written = Bun.file(dest).size
  // The floor keeps the multipart framing: two part heads and the closing delimiter.
  if (raw ? written < bytes || written > bytes + 4096 : written !== bytes)
    throw new Error(`upload wrote ${written} of ${bytes} bytes to ${dest}`)
  return Number(proc.resourceUsage()?.cpuTime.total ?? Number.NaN) / 1e6
}
