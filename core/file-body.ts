/**
 * A response body read from a file descriptor that is already open: the downloads and a
 * command's log. Every byte comes from that descriptor, so a file renamed, removed or rotated
 * after the open changes nothing; by name, a log renamed between the stat and Bun's own open
 * was a 404 naming execd's temp path.
 */
import type { FileHandle } from 'node:fs/promises'

/** `/proc/self/fd/<fd>`: the file the descriptor holds, whatever its name is now. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`

/** Up to this size a body is read into memory and sent whole. */
const SMALL_BODY = 4 * 1024 * 1024
/**
 * How long the descriptor of a large body stays open for Bun to open its own copy. Bun opens a
 * file body when it starts the response, as soon as the handler has resolved and before any
 * timer runs (a 0 ms timer finds its copy open; 2,560 concurrent downloads of four files with
 * this at 0 each got their own file's bytes); this only has to outlast that (the fd number must
 * not be reused before then), with room for a hop through the event loop. Not longer: each
 * download holds it meanwhile, and at 10 s one client asking for a 5 MB file and leaving at
 * once held 2,845 of execd's fds after 2 s (14,000 at that rate), so a few took the fd limit.
 */
const HANDOFF_MS = 100

/**
 * Bytes `start`…`end` of `handle`, with Content-Length; the handle is closed (or handed over)
 * whatever happens. Bun keeps a handler's Content-Length only for bodies it knows whole (a
 * buffer, a file blob), not for a ReadableStream. A small body is read from the open file; a
 * large one is a file blob of `/proc/self/fd/<fd>`: Bun opens exactly the file we opened (a
 * magic link, nothing is resolved by name) and sends it with sendfile.
 *
 * That one goes out with `Connection: close`. A file that shrinks while it streams (a log
 * rotated, a file rewritten with `>`) makes sendfile stop short: Bun (1.4.5, RequestContext
 * `onSendfile`) then ends the response as if it were whole and keeps the connection for the
 * next request, so the client waits for the rest of the Content-Length until the idle timeout
 * (120 s). A connection that closes when the response ends shows the client the short body at
 * once, as a body shorter than its Content-Length; the cost is one new connection after each
 * large body.
 */
export async function fileBody(
  method: string | undefined,
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
): Promise<Response> {
  headers['content-length'] = String(end - start)
  if (method !== 'HEAD' && end - start > SMALL_BODY) {
    setTimeout(() => void handle.close().catch(() => {}), HANDOFF_MS).unref()
    headers.connection = 'close'
    return new Response(Bun.file(fdPath(handle.fd)).slice(start, end), { status, headers })
  }
  try {
    if (method === 'HEAD') return new Response(null, { status, headers })
    const buf = Buffer.allocUnsafe(end - start)
    let got = 0
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    // A file that shrank since the stat: what is there, with its true length.
    if (got < buf.length) headers['content-length'] = String(got)
    return new Response(buf.subarray(0, got), { status, headers })
  } finally {
    await handle.close()
  }
}
