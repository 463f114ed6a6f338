/**
 * A response body read from a file descriptor that is already open: the downloads and a
 * command's log. Every byte comes from that descriptor, so a file renamed, removed or rotated
 * after the open changes nothing; by name, a log renamed between the stat and Bun's own open
 * was a 404 naming execd's temp path.
 */
import type { FileHandle } from 'node:fs/promises'
import { answerProbe, receivedOf, type Answer } from './answering'

/** `/proc/self/fd/<fd>`: the file the descriptor holds, whatever its name is now. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`

/** Up to this size a body is read into memory and sent whole, while the budget allows. */
const SMALL_BODY = 4 * 1024 * 1024
/**
 * The bytes of small bodies that all answers still being sent may hold at once. Bun holds a body
 * given whole until its client has read it: 50 clients asking for a 4 MiB file and never reading
 * held +200 MiB of execd until they closed (~8 GiB at --max-requests 2048). Past the budget a
 * body takes the large-body path, sendfile from the descriptor, which holds no memory.
 */
const MEMORY_BUDGET = 64 * 1024 * 1024
/** Bodies up to this size are not counted (no probe, no timer): 2,048 of them hold 128 MiB at most. */
const UNCOUNTED = 64 * 1024
/** How often the answers holding the budget are looked at: a finished one gives its bytes back. */
const SWEEP_MS = 100

interface Hold {
  bytes: number
  answering: () => boolean
  release: () => void
}

let heldBytes = 0
const holds = new Set<Hold>()
let sweeper: ReturnType<typeof setInterval> | undefined

function sweep(): void {
  for (const hold of holds) if (!hold.answering()) hold.release()
  if (holds.size === 0 && sweeper) {
    clearInterval(sweeper)
    sweeper = undefined
  }
}

/**
 * Counts a small body of `bytes` against the budget until its answer is sent or abandoned (the
 * release is idempotent), or undefined: the body should stream from its descriptor instead
 * (the budget spent, or an answer whose end cannot be watched).
 */
function holdMemory(answer: Answer | undefined, bytes: number): (() => void) | undefined {
  // Not an answer on a connection: the CLI's own file operations, an app answering in process.
  if (bytes <= UNCOUNTED || !answer?.server) return () => {}
  if (heldBytes + bytes > MEMORY_BUDGET) return undefined
  const answering = answerProbe(answer)
  if (!answering) return undefined
  const signal = receivedOf(answer.request).signal
  const hold: Hold = {
    bytes,
    answering,
    release: () => {
      if (!holds.delete(hold)) return
      heldBytes -= bytes
      signal.removeEventListener('abort', hold.release)
    },
  }
  holds.add(hold)
  heldBytes += bytes
  // A client that goes away gives the bytes back at once; one that reads, at the next sweep.
  signal.addEventListener('abort', hold.release)
  sweeper ??= setInterval(sweep, SWEEP_MS)
  sweeper.unref?.()
  return hold.release
}

/** Bytes of small bodies held now (for tests). */
export const smallBodyBytesHeld = (): number => heldBytes
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
 * large body. A small body takes that path too once the small bodies being sent hold
 * MEMORY_BUDGET, or when its answer cannot be watched.
 */
export async function fileBody(
  method: string | undefined,
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
  /** The request answered and its server: a small body is held in memory only while its answer can be watched. */
  answer?: Answer,
): Promise<Response> {
  headers['content-length'] = String(end - start)
  const release = method === 'HEAD' || end - start > SMALL_BODY ? undefined : holdMemory(answer, end - start)
  if (method !== 'HEAD' && !release) {
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
  } catch (err) {
    release?.()
    throw err
  } finally {
    await handle.close()
  }
}
