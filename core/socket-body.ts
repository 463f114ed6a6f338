/**
 * A body past --download-copy-max, written by execd onto its connection, the bytes read through
 * a buffer of its own. sendfile sent the file's own pages there, and they stay the file's until
 * the client has read them: a truncation zeroes those still queued, on loopback or a veth in
 * the client's own receive queue too, where nothing execd does can take them back (a reset is
 * read after what is queued), so the client got the whole Content-Length with zeros where the
 * file had data. Nothing tells a peer whose queue shares our pages (loopback, a veth, a bridge
 * to another container of the host) from one behind a NIC, so no answer sends the file's pages.
 *
 * Bun cannot send a body it reads bit by bit with a Content-Length (1.4.5 sends a
 * ReadableStream chunked; a file body of its own, even one made from a stream, goes by
 * sendfile), so the head and body are written here on a duplicate of the connection's
 * descriptor, and Bun is handed an answer once the client's kernel has acknowledged all of it:
 * by then the connection is shut both ways, Bun's write of that answer fails (EPIPE) and it
 * closes the connection (it had to: `Connection: close`).
 */
import { closeSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { receivedOf, type Answer } from './answering'
import { BufferPool } from './buffer-pool'
import { heldConnectionSoon, type Sockets } from './connection-fd'
import { POLLERR, POLLHUP, POLLOUT, pollOne } from './poll'
import { CEILING_MS, resetConnection, sendProgress, StallClock, TIOCOUTQ } from './send-stall'

/**
 * Bytes read and written at a time, in buffers shared by every such body: 8 MiB at most whatever
 * the number of clients (each body takes two while the kernel takes its bytes). 1 MiB buffers
 * sent 1 GiB no faster (medians of 5 with curl, load 16: 1.12 s and 49 cs of CPU against 1.02 s
 * and 52 cs) and held four times the memory.
 */
const pool = new BufferPool(256 * 1024, 32)
/**
 * A client that takes nothing is dropped by the stall rule its answer is under when a request
 * wants what it holds, or past CEILING_MS (core/downloads.ts guards it: the reset and the log
 * line); a wait here gives up on its own only past twice that, for an answer nobody guards.
 */
const GIVE_UP_MS = 2 * CEILING_MS
/** The longest wait before a full send queue is looked at again. */
const MAX_WAIT_MS = 50
const REASONS: Record<number, string> = { 200: 'OK', 206: 'Partial Content' }
const SHUT_RDWR = 2

/**
 * Writes the answer `status`/`headers` with bytes `start`…`end` of `handle` onto `answer`'s
 * connection, and resolves to what Bun is to answer then (it cannot: the connection is shut);
 * undefined, having written nothing, when the connection cannot be found (no server, no
 * FFI). A file that no longer holds `end` resets the connection: the client sees the answer end
 * short of its length, every byte it got the file's. Never throws once it has written.
 */
export async function socketBody(
  handle: FileHandle,
  start: number,
  end: number,
  status: number,
  headers: Record<string, string>,
  answer: Answer | undefined,
): Promise<Response | undefined> {
  const held = await heldConnectionSoon(answer, performance.now())
  if (!held || !answer) return undefined
  // Bun sees none of our writes: its idle timer would close the connection mid-answer.
  ;(answer.server as { timeout?: (r: Request, s: number) => void }).timeout?.(receivedOf(answer.request), 0)
  const whole =
    (await pump(held.fd, held.s, handle, start, end, head(status, headers))) && (await drained(held.fd, held.s))
  // Both ways, so that Bun sees the hang-up and closes: shut for writing alone, its write of
  // its answer failed with EPIPE and was tried again at once, half a core's worth, forever.
  if (whole) held.s.shutdown(held.fd, SHUT_RDWR)
  // Short: a reset, not a FIN, so that no client takes what it got for the whole.
  else resetConnection(held.fd, held.s)
  closeSync(held.fd)
  return new Response(null, { status, headers: { connection: 'close' } })
}

/**
 * Writes `first` and the bytes `start`…`end` of `handle` on the connection `fd`; true if all
 * went into the kernel. A chunk is read into a buffer of the pool while the one before is
 * written; when the send queue is full both go back to the pool, and what was not sent is read
 * again once there is room: a client that reads slowly or not at all holds none.
 */
async function pump(
  fd: number,
  s: Sockets,
  handle: FileHandle,
  start: number,
  end: number,
  first: string,
): Promise<boolean> {
  const head = Buffer.from(first, 'latin1')
  for (let sent = 0; sent < head.length;) {
    const n = writeSome(fd, head.subarray(sent))
    if (n < 0 || (n < head.length - sent && !(await writable(fd, s)))) return false
    sent += n
  }
  const readAt = async (at: number, buffer: Buffer): Promise<Chunk> => {
    try {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at), at)
      return { buffer, length: bytesRead }
    } catch {
      return { buffer, length: 0 }
    }
  }
  let ahead: Promise<Chunk> | undefined
  try {
    for (let at = start; at < end;) {
      const chunk = await (ahead ?? readAt(at, await pool.take()))
      ahead = undefined
      // Short of `end`: the file shrank (or cannot be read).
      if (chunk.length === 0) {
        pool.give(chunk.buffer)
        return false
      }
      const next = at + chunk.length
      const spare = next < end ? pool.tryTake() : undefined
      if (spare) ahead = readAt(next, spare)
      const n = writeSome(fd, chunk.buffer.subarray(0, chunk.length))
      pool.give(chunk.buffer)
      if (n < 0) return false
      at += n
      if (n === chunk.length) continue
      if (ahead) pool.give((await ahead).buffer)
      ahead = undefined
      if (!(await writable(fd, s))) return false
    }
    return true
  } finally {
    if (ahead) pool.give((await ahead).buffer)
  }
}

interface Chunk {
  buffer: Buffer
  length: number
}

/** Bytes of `bytes` the kernel took at once (the descriptor is non-blocking, as Bun made it); -1 when the connection failed. */
function writeSome(fd: number, bytes: Uint8Array): number {
  let sent = 0
  while (sent < bytes.length) {
    try {
      sent += writeSync(fd, bytes, sent, bytes.length - sent)
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? sent : -1
    }
  }
  return sent
}

/** Whether the connection `fd` has room again before its client stalls; false when it failed or hung up. */
function writable(fd: number, s: Sockets): Promise<boolean> {
  return lookUntil(fd, s, () => {
    const revents = pollOne(fd, POLLOUT, 0) ?? -1
    if (revents < 0 || revents & (POLLERR | POLLHUP)) return false
    return revents & POLLOUT ? true : undefined
  })
}

/**
 * Whether the kernel has sent all it holds of the connection `fd` before its client stalls: Bun
 * closes a connection whose write failed with a reset, which drops what the send queue still
 * holds (a client reading late got 6,092,039 bytes of 6,291,456, then ECONNRESET).
 */
function drained(fd: number, s: Sockets): Promise<boolean> {
  const queued = new Int32Array(1)
  return lookUntil(fd, s, () => (s.ioctl(fd, TIOCOUTQ, queued) !== 0 ? false : queued[0] === 0 || undefined))
}

/**
 * `look` again after a wait that doubles while it says nothing (undefined), up to MAX_WAIT_MS:
 * Bun says nothing of a descriptor of ours. False once the client has taken nothing for
 * GIVE_UP_MS, counted as the stall rule counts it (what the client acknowledged, not whether
 * the send queue has room: a slow reader frees room seldom, in large steps).
 */
async function lookUntil(fd: number, s: Sockets, look: () => boolean | undefined): Promise<boolean> {
  const clock = new StallClock(GIVE_UP_MS)
  for (let wait = 1; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
    const seen = look()
    if (seen !== undefined) return seen
    if (clock.look(sendProgress(fd, s))) return false
    await Bun.sleep(wait)
  }
}

function head(status: number, headers: Record<string, string>): string {
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\ndate: ${new Date().toUTCString()}\r\n`
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`
  return `${text}\r\n`
}
