/**
 * `GET|HEAD /files/download`: streams a file from disk (Bun.file slices: no full read), with
 * Content-Length, Content-Disposition, Accept-Ranges, Last-Modified, a single Range → 206, and
 * the line-based `offset`/`limit` read of newer reference versions.
 */
import { open, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { badRequest } from '../../../core/errors'
import { fsError } from '../errors'
import type { PathScope } from '../paths'
import { contentDisposition, parseRange } from '../ranges'

export interface DownloadRequest {
  path: string
  method?: string
  range?: string | null
  ifModifiedSince?: string | null
  /** 1-based first line of a line-based read. */
  offset?: string
  /** Number of lines of a line-based read. */
  limit?: string
}

export async function downloadFile(scope: PathScope, req: DownloadRequest): Promise<Response> {
  const { path, target } = scope.resolve(req.path, { follow: true })
  const s = await stat(target).catch(err => {
    throw fsError(err, 'open', path)
  })
  if (s.isDirectory()) throw badRequest(`path is a directory: ${path}`)
  if (!s.isFile()) throw badRequest(`not a regular file: ${path}`)
  if (req.offset !== undefined || req.limit !== undefined) {
    if (req.range) throw badRequest('offset/limit (lines) and Range (bytes) cannot be combined')
    const offset = positive(req.offset, 'offset must be a positive integer (1-based)', 1)
    const limit = positive(req.limit, 'limit must be a positive integer', Number.POSITIVE_INFINITY)
    return linesResponse(target, offset, limit, req.method === 'HEAD')
  }
  const size = s.size
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': contentDisposition(basename(path)),
    'accept-ranges': 'bytes',
    'last-modified': new Date(Math.floor(s.mtimeMs / 1000) * 1000).toUTCString(),
  }
  const file = Bun.file(target)
  if (req.range) {
    const r = parseRange(req.range, size)
    headers['content-range'] = `bytes ${r.start}-${r.end}/${size}`
    return body(req.method, file.slice(r.start, r.end + 1), r.end - r.start + 1, 206, headers)
  }
  if (req.ifModifiedSince) {
    const since = Date.parse(req.ifModifiedSince)
    if (!Number.isNaN(since) && Math.floor(s.mtimeMs / 1000) * 1000 <= since) {
      return new Response(null, { status: 304, headers: { 'last-modified': headers['last-modified']! } })
    }
  }
  // slice(0, size) pins the length to the stat we answered with, even if the file grows.
  return body(req.method, file.slice(0, size), size, 200, headers)
}

function body(method: string | undefined, blob: Blob, length: number, status: number, headers: Record<string, string>) {
  headers['content-length'] = String(length)
  return new Response(method === 'HEAD' ? null : blob, { status, headers })
}

function positive(raw: string | undefined, message: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest(message)
  return Number(raw)
}

/**
 * Lines offset…offset+limit-1, each ending in `\n`, streamed: only one read buffer is held,
 * however long the lines are.
 */
function linesResponse(target: string, offset: number, limit: number, head: boolean): Response {
  const headers = { 'content-type': 'text/plain; charset=utf-8' }
  if (head) return new Response(null, { headers })
  let handle: Awaited<ReturnType<typeof open>> | undefined
  let line = 1
  let emitted = 0
  let inLine = false
  const buf = Buffer.alloc(64 * 1024)
  const stream = new ReadableStream<Uint8Array>({
    // pull must enqueue or close before returning, or the stream stalls: skip lines in a loop.
    async pull(controller) {
      handle ??= await open(target, 'r')
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, null)
        if (bytesRead === 0 || emitted >= limit) {
          // An unterminated last line is still a line; it gets its `\n` like the others.
          if (inLine && emitted < limit && line >= offset) controller.enqueue(Buffer.from('\n'))
          await handle.close()
          controller.close()
          return
        }
        const out: Buffer[] = []
        let from = 0
        while (from < bytesRead && emitted < limit) {
          const nl = buf.subarray(0, bytesRead).indexOf(0x0a, from)
          const end = nl < 0 ? bytesRead : nl + 1
          if (line >= offset) out.push(Buffer.from(buf.subarray(from, end)))
          if (nl >= 0) {
            if (line >= offset) emitted++
            line++
            inLine = false
          } else {
            inLine = true
          }
          from = end
        }
        if (out.length) {
          controller.enqueue(Buffer.concat(out))
          return
        }
      }
    },
    async cancel() {
      await handle?.close()
    },
  })
  return new Response(stream, { headers })
}
