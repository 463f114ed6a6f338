/**
 * `GET|HEAD /files/download`: streams a file from disk with Content-Length, Content-Disposition,
 * Accept-Ranges, Last-Modified, a single Range → 206 (several: the whole file), and the line-based `offset`/`limit` read
 * of newer reference versions. The file is opened once, beneath the root, and every byte comes
 * from that descriptor: nothing is looked up by name again while the response streams. Up to
 * `copyMax` the bytes are copied before the answer starts (core/file-body.ts): the body is the
 * file as it was then, whatever is done to the file while it is sent.
 */
import type { FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { badRequest } from '../../../core/errors'
import type { Answer } from '../../../core/answering'
import type { Downloads } from '../../../core/downloads'
import { fileBody } from '../../../core/file-body'
import { fdPath, openEntry, reopenForRead } from '../../../core/beneath/entry'
import { fsError } from '../errors'
import type { PathScope, RawPath } from '../../../core/beneath/path-scope'
import { consumedByReading, isPseudoFile, pseudoCopy } from '../pseudo'
import { contentDisposition, parseRange } from '../ranges'

interface DownloadRequest {
  path: RawPath
  method?: string
  range?: string | null
  ifModifiedSince?: string | null
  /** 1-based first line of a line-based read. */
  offset?: string
  /** Number of lines of a line-based read. */
  limit?: string
  /** The HTTP request answered and its server, if any: a body is held in memory or on disk only while it is watched. */
  answer?: Answer
  /** Largest body copied before it is sent (core/file-body.ts); its default when not given. */
  copyMax?: number
  /** Where the answer's app names it while it is sent (core/downloads.ts). */
  downloads?: Downloads
}

export async function downloadFile(scope: PathScope, req: DownloadRequest): Promise<Response> {
  const raw = req.path
  const { lines, offset, limit } = lineWindow(req)
  let handle: FileHandle | undefined
  /** The file's name as the disposition gives it: its exact bytes when they are not UTF-8. */
  let name: string | Buffer = ''
  /** A pseudo-file's own modification time: its copy's is now. */
  let modified: number | undefined
  try {
    handle = await scope.with(raw, { follow: true }, async anchor => {
      name = anchor.bytes ? anchor.bytes.subarray(anchor.bytes.lastIndexOf(0x2f) + 1) : basename(anchor.path)
      const entry = openEntry(anchor)
      try {
        if (entry.stats.isDirectory()) throw badRequest(`path is a directory: ${raw}`)
        if (!entry.stats.isFile()) throw badRequest(`not a regular file: ${raw}`)
        // A HEAD must not take what it reads away: such a file's length is unknown there (0).
        const consumed = req.method === 'HEAD' && consumedByReading(anchor.path)
        if (consumed || !(await isPseudoFile(fdPath(entry.fd), entry.stats))) return await reopenForRead(entry)
        modified = entry.stats.mtimeMs
        return await pseudoCopy(entry.fd, String(raw))
      } finally {
        entry.close()
      }
    })
  } catch (err) {
    throw fsError(err, 'open', raw)
  }
  try {
    return await respond(handle, req, name, lines, offset, limit, modified)
  } catch (err) {
    await handle.close()
    throw err
  }
}

async function respond(
  handle: FileHandle,
  req: DownloadRequest,
  name: string | Buffer,
  lines: boolean,
  offset: number,
  limit: number,
  modified?: number,
): Promise<Response> {
  const s = await handle.stat()
  if (lines) return linesResponse(handle, offset, limit, req.method === 'HEAD')
  const size = s.size
  const mtimeMs = modified ?? s.mtimeMs
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': contentDisposition(name),
    'accept-ranges': 'bytes',
    'last-modified': new Date(Math.floor(mtimeMs / 1000) * 1000).toUTCString(),
  }
  const r = req.range ? parseRange(req.range, size) : undefined
  if (r) {
    headers['content-range'] = `bytes ${r.start}-${r.end}/${size}`
    return fileBody(req.method, handle, r.start, r.end + 1, 206, headers, req)
  }
  // Several ranges: the whole file (ranges.ts), If-Modified-Since not looked at, as with one.
  if (req.range) return fileBody(req.method, handle, 0, size, 200, headers, req)
  if (req.ifModifiedSince) {
    const since = Date.parse(req.ifModifiedSince)
    if (!Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since) {
      await handle.close()
      return new Response(null, { status: 304, headers: { 'last-modified': headers['last-modified'] ?? '' } })
    }
  }
  // Reading stops at the size we answered with, even if the file grows.
  return fileBody(req.method, handle, 0, size, 200, headers, req)
}

/**
 * The lines a read asks for (`offset`, `limit`), refused as a 400 when they are not positive
 * whole numbers or come with a byte range. The CLI checks what was typed with it too.
 */
export function lineWindow(req: { offset?: string; limit?: string; range?: string | null }): {
  lines: boolean
  offset: number
  limit: number
} {
  const lines = req.offset !== undefined || req.limit !== undefined
  if (lines && req.range) throw badRequest('offset/limit (lines) and Range (bytes) cannot be combined')
  const offset = positive(req.offset, 'offset must be a positive integer (1-based)', 1)
  const limit = positive(req.limit, 'limit must be a positive integer', Number.POSITIVE_INFINITY)
  return { lines, offset, limit }
}

function positive(raw: string | undefined, message: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest(message)
  return Number(raw)
}

/**
 * Lines offset…offset+limit-1 as the file holds them, streamed: only one read buffer is held,
 * however long the lines are. A last line without its `\n` is sent without one, as the
 * reference's reader sends it: a client joining reads of a file as it grows gets its bytes.
 */
async function linesResponse(handle: FileHandle, offset: number, limit: number, head: boolean): Promise<Response> {
  const headers = { 'content-type': 'text/plain; charset=utf-8' }
  if (head) {
    await handle.close()
    return new Response(null, { headers })
  }
  let line = 1
  let emitted = 0
  const buf = Buffer.alloc(64 * 1024)
  const stream = new ReadableStream<Uint8Array>({
    // pull must enqueue or close before returning, or the stream stalls: skip lines in a loop.
    async pull(controller) {
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, null)
        if (bytesRead === 0 || emitted >= limit) {
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
      await handle.close()
    },
  })
  return new Response(stream, { headers })
}
