/**
 * The PTY WebSocket, framed as the reference's (PTY.md upstream): binary 0x00 stdin in,
 * 0x01 stdout / 0x02 stderr / 0x03+offset replay out, JSON control frames each followed by
 * "\n" as gorilla's WriteJSON writes them. One client per session; `takeover` evicts.
 */
import { ExecdError, limitReached } from '../../core/errors'
import type { SendQueue, SendQueues } from '../../core/send-queues'
import { within } from '../../core/timers'
import type { Socket, SocketHandlers } from '../../core/websocket'
import { type ClientFrame, parseFrame } from './frames'
import type { OutputStream, PtyClient, PtyMode, PtySession } from './session'

const FRAME = { stdin: 0x00, stdout: 0x01, stderr: 0x02, replay: 0x03 } as const
/** Output frames stay under this size, as the reference's. */
const MAX_CHUNK = 32 * 1024
/** How long a failed stdin write waits for the exit of a process that is ending (its output drains in 500 ms). */
const EXIT_WAIT_MS = 2000
export const TAKEN_OVER = { code: 4001, reason: 'TAKEN_OVER' } as const

interface ConnectOptions {
  mode: PtyMode
  since: number
  /** What all terminals' sockets queue together for clients that do not read (store.ts). */
  queues: SendQueues
}

interface Claim {
  ws: Socket | null
  evicted: boolean
  client: PtyClient
  handlers: SocketHandlers
}

/** The connection holding each session (claimed at upgrade, before the socket opens). */
const claims = new WeakMap<PtySession, Claim>()

/** Throws ALREADY_CONNECTED (409, before the upgrade) when another client holds the session. */
export function checkFree(session: PtySession, takeover: boolean): void {
  if (claims.has(session) && !takeover) {
    throw new ExecdError('ALREADY_CONNECTED', `another client is already connected to pty session ${session.id}`)
  }
}

export interface Connection {
  handlers: SocketHandlers
  /** Makes this connection the session's holder (before the upgrade). */
  claim(): void
  /** The upgrade failed: the previous holder keeps the session. */
  abandon(): void
  /** The upgrade succeeded: the previous holder is closed with 4001 TAKEN_OVER. */
  evictPrevious(): void
}

/** Socket handlers for a new connection to `session`, and its claim on the session. */
export function connection(session: PtySession, opts: ConnectOptions): Connection {
  const claim: Claim = { ws: null, evicted: false, client: null!, handlers: null! }
  const queue: SendQueue = { counted: 0, measure: () => claim.ws?.getBufferedAmount() ?? 0 }
  // Free the session as soon as we end the connection, not when the closing handshake is done,
  // so a client may reconnect right after it saw the close.
  const release = () => {
    opts.queues.forget(queue)
    session.detach(claim.client)
    if (claims.get(session) === claim) claims.delete(session)
  }
  const end = (ws: Socket, code: number, reason: string) => {
    release()
    ws.close(code, reason)
  }
  /**
   * Sends a frame; false once the socket is cut off. A client that does not read is cut off
   * when Bun drops a send (its socket holds 16 MiB) or when all terminals' queues together pass
   * their budget. Cut off, not closed: a close frame waits behind what the client does not
   * read, and the queue stayed held with it (~18 s here, 16 MiB a terminal). The ring still
   * has the output: the client resumes with `since`.
   */
  const send = (ws: Socket, frame: string | Uint8Array): boolean => {
    if (ws.readyState !== 1) return false
    const sent = typeof frame === 'string' ? ws.sendText(frame) : ws.sendBinary(frame)
    if (sent > 0 && queue.counted === 0) return true
    if (sent !== 0 && opts.queues.within(queue)) return true
    release()
    ws.terminate()
    return false
  }
  const sendJson = (ws: Socket, frame: Record<string, unknown>) => send(ws, `${JSON.stringify(frame)}\n`)
  const fail = (ws: Socket, code: string, error: string) => sendJson(ws, { type: 'error', error, code })

  claim.client = {
    output(stream: OutputStream, bytes: Uint8Array) {
      const ws = claim.ws
      if (!ws) return
      const kind = stream === 'stdout' ? FRAME.stdout : FRAME.stderr
      for (let at = 0; at < bytes.length; at += MAX_CHUNK) {
        const part = bytes.subarray(at, at + MAX_CHUNK)
        const frame = new Uint8Array(part.length + 1)
        frame[0] = kind
        frame.set(part, 1)
        if (!send(ws, frame)) return
      }
    },
    exit(code: number) {
      const ws = claim.ws
      if (!ws) return
      if (sendJson(ws, { type: 'exit', exit_code: code })) end(ws, 1000, 'process exited')
    },
  }

  claim.handlers = {
    open(ws) {
      if (claim.evicted) return ws.close(TAKEN_OVER.code, TAKEN_OVER.reason)
      claim.ws = ws
      opts.queues.add(queue)
      try {
        session.start(opts.mode)
      } catch (e) {
        // Out of fds or processes since the route's check: the limit named, as the 503 of a
        // command's start does, and 1013 (try again later) since the load passes.
        const full = limitReached(e)
        if (full) {
          fail(ws, full.code, full.message)
          return end(ws, 1013, 'LIMIT_REACHED')
        }
        fail(ws, 'START_FAILED', e instanceof Error ? e.message : String(e))
        return end(ws, 1011, 'START_FAILED')
      }
      const replay = session.attach(claim.client, opts.since)
      if (replay && !send(ws, replayFrame(replay.offset, replay.bytes))) return
      if (!sendJson(ws, { type: 'connected', session_id: session.id, mode: session.mode })) return
      if (session.exitCode !== null) claim.client.exit(session.exitCode)
    },
    message(ws, message) {
      if (claim.evicted) return
      // An exception here would end the daemon: a frame that still manages to throw is
      // answered like any other bad frame.
      try {
        onFrame(ws, parseFrame(message))
      } catch (e) {
        fail(ws, 'INVALID_FRAME', e instanceof Error ? e.message : String(e))
      }
    },
    drain() {
      opts.queues.within(queue)
    },
    close: release,
  }

  const write = (ws: Socket, data: string | Uint8Array) =>
    session.write(data).catch(async e => {
      // A stdin that broke because the process is ending (a signal killed it, its exit not yet
      // reaped): its exit frame, sent once it is reaped, says that better than a 1011.
      const ended = session.ended
      if (ended && (await within(ended, EXIT_WAIT_MS)) !== 'timeout') return
      if (claim.ws !== ws || claim.evicted) return
      fail(ws, 'STDIN_WRITE_FAILED', e instanceof Error ? e.message : String(e))
      end(ws, 1011, 'STDIN_WRITE_FAILED')
    })

  const onFrame = (ws: Socket, frame: ClientFrame) => {
    switch (frame.type) {
      case 'stdin':
        return void write(ws, frame.data)
      case 'resize':
        return session.resize(frame.cols, frame.rows)
      case 'signal':
        return session.signal(frame.signal)
      case 'ping':
        return sendJson(ws, { type: 'pong' })
      case 'invalid':
        return fail(ws, 'INVALID_FRAME', frame.error)
    }
  }

  let previous: Claim | undefined
  return {
    handlers: claim.handlers,
    // Claimed before the upgrade: Bun may open the socket inside server.upgrade().
    claim() {
      previous = claims.get(session)
      claims.set(session, claim)
    },
    abandon() {
      if (claims.get(session) !== claim) return
      if (previous) claims.set(session, previous)
      else claims.delete(session)
    },
    evictPrevious() {
      if (!previous) return
      previous.evicted = true
      session.detach(previous.client)
      previous.ws?.close(TAKEN_OVER.code, TAKEN_OVER.reason)
    },
  }
}

/** 0x03 | uint64 big-endian absolute offset | bytes. */
function replayFrame(offset: number, bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(9 + bytes.length)
  frame[0] = FRAME.replay
  new DataView(frame.buffer).setBigUint64(1, BigInt(offset))
  frame.set(bytes, 9)
  return frame
}
