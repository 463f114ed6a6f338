/**
 * A response body read from a file descriptor that is already open: the downloads and a
 * command's log. Every byte comes from that descriptor, so a file renamed, removed or rotated
 * after the open changes nothing; by name, a log renamed between the stat and Bun's own open
 * was a 404 naming execd's temp path.
 */
import type { FileHandle } from 'node:fs/promises'
import { AnswerBudget } from './answer-budget'
import { whenAnswered, type Answer } from './answering'
import type { Downloads } from './downloads'
import { ExecdError } from './errors'
import { copiesInMemory, fdPath, snapshot } from './file-snapshot'
import { socketBody } from './socket-body'

/** Up to this size a body is read into memory and sent whole, while the budget allows. */
const SMALL_BODY = 4 * 1024 * 1024
/*
 * The two budgets are the process's, as the memory and the TMPDIR they bound are: each of two
 * apps in one process (tests) having its own would let them hold twice that between them.
 */
/**
 * The bytes of small bodies that all answers still being sent may hold at once. Bun holds a body
 * given whole until its client has read it: 50 clients asking for a 4 MiB file and never reading
 * held +200 MiB of execd until they closed (~8 GiB at --max-requests 2048). Past the budget a
 * body takes the large-body path, a copy on disk, which holds no memory (where TMPDIR is a
 * tmpfs, the file itself). Bodies up to 64 KiB are not counted (no probe, no timer): 2,048 of
 * them hold 128 MiB at most.
 */
const memory = new AnswerBudget(64 * 1024 * 1024, 64 * 1024)
/**
 * The bytes of the private copies (core/file-snapshot.ts) that answers still being sent may
 * hold on disk at once: each large download costs its size in TMPDIR until it is sent, and
 * clients asking for a large file again and again must not fill the disk. Past it a body is
 * read from the file itself as it is sent (core/socket-body.ts). Where TMPDIR is memory
 * (tmpfs) the copies count against the memory budget instead.
 */
const disk = new AnswerBudget(2 * 1024 * 1024 * 1024)

/** Bytes of small bodies held now (for tests). */
export const smallBodyBytesHeld = (): number => memory.held()
/**
 * How long a descriptor of a large body stays open for Bun to open its own copy. Bun opens a
 * file body when it starts the response, as soon as the handler has resolved and before any
 * timer runs (a 0 ms timer finds its copy open; 2,560 concurrent downloads of four files with
 * this at 0 each got their own file's bytes); this only has to outlast that (the fd number must
 * not be reused before then), with room for a hop through the event loop. Not longer: each
 * download holds it meanwhile, and at 10 s one client asking for a 5 MB file and leaving at
 * once held 2,845 of execd's fds after 2 s (14,000 at that rate), so a few took the fd limit.
 */
const HANDOFF_MS = 100

/**
 * The largest body copied before it is sent unless told (--download-copy-max). A copy costs its
 * size on disk while it is sent and a pass over the bytes before the first one goes out: 256 MiB
 * took 0.53 s against 0.30 s uncopied (medians of 9 alternating, load 8.5 on 2 cores; ~0.25 s
 * per GiB idle). Past this a body is read from the file as it is sent (core/socket-body.ts).
 */
const COPY_MAX = 256 * 1024 * 1024

export interface BodyOptions {
  /** The request answered and its server: a body is held in memory or on disk only while its answer can be watched. */
  answer?: Answer
  /** Largest body copied before it is sent (0: none). */
  copyMax?: number
  /** Where the answer's app names its bodies still being sent (SIGUSR2, a --max-requests refusal). */
  downloads?: Downloads
}

/**
 * A file blob of `handle`'s bytes start…end, which Bun opens (a magic link) and sends with
 * sendfile. `handle` is closed once Bun has its own descriptor, or, for a private copy whose
 * answer can be watched, a hand-over after that answer is over: a copy has no name, and its last
 * close frees its blocks, which Bun's close of its own descriptor did on the event loop when it
 * came last — on an ext4 mounted with `discard` that close slept 3.3 and 3.6 s under load
 * (`ext4_evict_inode` → `blkdev_issue_discard`), holding every request. Kept open until Bun's
 * is closed, the copy's last close is this one, on the thread pool.
 */
function sendfileBody(
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
  copyOf?: Answer,
) {
  const close = () => void handle.close().catch(() => {})
  const handOver = () => void setTimeout(close, HANDOFF_MS).unref()
  if (!copyOf || !whenAnswered(copyOf, handOver)) handOver()
  return new Response(Bun.file(fdPath(handle.fd)).slice(start, end), { status, headers })
}

/**
 * Bytes `start`…`end` of `handle`, with Content-Length; the handle is closed (or handed over)
 * whatever happens. Bun keeps a handler's Content-Length only for bodies it knows whole (a
 * buffer, a file blob), not for a ReadableStream. Both paths copy the bytes before the answer
 * starts, so the body is the file as it was then, and the file's size after the copy says how
 * much of it the file still held (a truncation racing the copy can zero what it copied past
 * the new end): a file that shrank is answered with its true, shorter length. A small body is
 * read into memory; a large one (or a small one past the memory budget, or whose answer cannot
 * be watched) is copied into a private file (core/file-snapshot.ts), sent with sendfile.
 *
 * Past --download-copy-max or the disk budget, or where no copy can be made, a large body is
 * read from the file while it is sent and written onto the connection by execd
 * (core/socket-body.ts), with `Connection: close`: each byte is the file's as it was when read,
 * and a file that shrinks below the answer's end resets the connection (the client sees the
 * answer end short of its length). Where that connection cannot be found (answered in process,
 * no FFI) it is the file itself, sent by sendfile, as before.
 *
 * While the body is sent its answer is named in `downloads`, its app's.
 */
export async function fileBody(
  method: string | undefined,
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
  { answer, copyMax = COPY_MAX, downloads }: BodyOptions = {},
): Promise<Response> {
  headers['content-length'] = String(end - start)
  if (method === 'HEAD') {
    await handle.close()
    return new Response(null, { status, headers })
  }
  const named = (response: Response): Response => {
    if (answer) downloads?.add(answer)
    return response
  }
  const release = end - start > SMALL_BODY ? undefined : memory.hold(answer, end - start)
  if (!release) {
    // Named from now: a body written by execd (core/socket-body.ts) is sent before it returns.
    if (answer) downloads?.add(answer)
    return largeBody(handle, start, end, status, headers, answer, copyMax)
  }
  try {
    const buf = Buffer.allocUnsafe(end - start)
    let got = 0
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    const size = (await handle.stat()).size
    got = Math.max(0, Math.min(got, size - start))
    if (got < buf.length) shrunk(status, headers, start, got, size)
    return named(new Response(buf.subarray(0, got), { status, headers }))
  } catch (err) {
    release()
    throw err
  } finally {
    await handle.close()
  }
}

async function largeBody(
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
  answer: Answer | undefined,
  copyMax: number,
): Promise<Response> {
  const copied = end - start <= copyMax
  const release = copied ? ((await copiesInMemory()) ? memory : disk).hold(answer, end - start) : undefined
  const copy = release && (await snapshot(handle, start, end).catch(() => undefined))
  if (!copy) {
    release?.()
    headers.connection = 'close'
    const written = await socketBody(handle, start, end, status, headers, answer).catch(err => {
      void handle.close().catch(() => {})
      throw err
    })
    if (!written) return sendfileBody(handle, start, end, status, headers)
    await handle.close().catch(() => {})
    return written
  }
  try {
    if (copy.length < end - start) shrunk(status, headers, start, copy.length, (await handle.stat()).size)
  } catch (err) {
    await copy.handle.close()
    release()
    throw err
  } finally {
    await handle.close()
  }
  if (copy.length > 0) {
    return sendfileBody(copy.handle, 0, copy.length, status, headers, answer)
  }
  // Nothing left of it: an empty file body would be Bun's 204.
  await copy.handle.close()
  release()
  return new Response(new Uint8Array(0), { status, headers })
}

/**
 * The headers of a body cut short by a file that shrank before it was read: its length, and for
 * a 206 the range it holds of the file as it now is (a Content-Range still naming the bytes
 * asked for contradicts the Content-Length; a client that trusts it writes past what came), or a
 * 416 when nothing of the range is left.
 */
function shrunk(status: number, headers: Record<string, string>, start: number, length: number, size: number): void {
  headers['content-length'] = String(length)
  if (status !== 206) return
  if (length === 0)
    throw new ExecdError(
      'RANGE_NOT_SATISFIABLE',
      `invalid range: the file shrank to ${size} bytes before it was sent`,
      {
        headers: { 'content-range': `bytes */${size}` },
      },
    )
  headers['content-range'] = `bytes ${start}-${start + length - 1}/${start + length}`
}
