/**
 * The WebSocket half of the proxy: dial the upstream first (so a dead port is a plain 502,
 * as Go's ReverseProxy answers), then upgrade the caller and relay frames both ways.
 */
import type { Server } from 'bun'
import type { SendQueue, SendQueues } from '../../core/send-queues'
import { errorResponse, ExecdError } from '../../core/errors'
import { handshakeRefusal, type Socket, type SocketHandlers, upgradeSocket } from '../../core/websocket'
import { type LongTimer, setLongTimeout } from '../../core/timers'
import { badGateway } from './forward'
import { type ProxyTarget, upstreamHeaders, validPort } from './target'

/** Frames from the upstream held until the caller's socket opens, and the relay's buffer limit. */
const MAX_BUFFERED = 16 * 1024 * 1024

/**
 * What all relays of a proxy section may hold queued at once, both ways together. Each relay may
 * queue MAX_BUFFERED, and nothing capped how many there were: 20 callers that never read, behind
 * an upstream that floods, grew execd by 335 MiB (N × 16 MiB). Past this total, the relay whose
 * queue grows is cut off, as one past its own limit is.
 */
export const MAX_BUFFERED_ALL = 64 * 1024 * 1024

/** Bun's client takes headers; the DOM typing of the global only knows protocols. */
const BunWebSocket = WebSocket as unknown as new (url: string, options: Bun.WebSocketOptions) => WebSocket

/** Handshake headers the WebSocket client makes itself. */
const HANDSHAKE = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol']

/** Close codes a peer may send in a close frame (1005/1006/1015 are reserved for reporting). */
const sendable = (code: number) =>
  code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)

export async function relaySocket(
  request: Request,
  target: ProxyTarget,
  peerIp: string | undefined,
  server: Server<SocketHandlers> | null | undefined,
  /** The queues of every relay of the section, both ways (MAX_BUFFERED_ALL): its instance's. */
  relays: SendQueues,
  /** Called once the caller's socket has closed (the relay's slot, plugins/proxy/ops.ts). */
  ended: () => void = () => {},
  /** ms the upstream may take to answer the handshake (0: no limit). */
  handshakeMs = 0,
): Promise<Response | undefined> {
  if (!validPort(target.port)) return badGateway()
  // Checked before the upstream is dialed: Bun would refuse to upgrade the caller anyway.
  const refused = handshakeRefusal(request)
  if (refused) return errorResponse(refused)
  const headers = upstreamHeaders(request.headers, peerIp)
  for (const name of HANDSHAKE) headers.delete(name)
  const protocols = request.headers
    .get('sec-websocket-protocol')
    ?.split(',')
    .map(p => p.trim())
    .filter(Boolean)
  const options: Bun.WebSocketOptions = protocols?.length ? { headers, protocols } : { headers }
  const upstream = new BunWebSocket(`ws://127.0.0.1:${target.port}${target.pathAndQuery}`, options)
  upstream.binaryType = 'arraybuffer'
  // A caller that leaves while the upstream has not answered its handshake (a server that
  // accepts and says nothing) gives its slot back: it was held for as long as that server kept
  // the TCP open, and 256 callers giving up on one refused every proxied WebSocket after them.
  const left = () => upstream.close()
  request.signal.addEventListener('abort', left, { once: true })
  // An upstream that accepts and never answers held the caller (and its slot, and two fds) for
  // as long as that server kept the TCP open: Bun's client has no handshake timeout.
  let timer: LongTimer | undefined
  const opened = await new Promise<boolean | 'timeout'>(resolve => {
    upstream.onopen = () => resolve(true)
    upstream.onerror = () => resolve(false)
    upstream.onclose = () => resolve(false)
    if (handshakeMs > 0) timer = setLongTimeout(() => resolve('timeout'), handshakeMs)
  })
  timer?.clear()
  request.signal.removeEventListener('abort', left)
  if (opened === 'timeout') {
    upstream.close()
    return errorResponse(
      new ExecdError(
        'BAD_GATEWAY',
        `Bad Gateway: the upstream did not answer the WebSocket handshake within ${handshakeMs} ms (--proxy-handshake-timeout)`,
      ),
    )
  }
  if (!opened) return badGateway()

  let caller: Socket | null = null
  let pending: (string | ArrayBuffer)[] | null = []
  let pendingBytes = 0
  let upstreamClose: { code: number; reason: string } | null = null
  const queued: SendQueue = {
    counted: 0,
    measure: () => (caller ? caller.getBufferedAmount() : pendingBytes) + upstream.bufferedAmount,
  }
  relays.add(queued)

  const toCaller = (ws: Socket, data: string | ArrayBuffer) => {
    const sent = typeof data === 'string' ? ws.sendText(data) : ws.sendBinary(new Uint8Array(data))
    if (sent === 0 || !relays.within(queued)) {
      // Not close(): its frame would wait behind the queue of a caller that does not read, and
      // the queue stayed held (20 such callers: +335 MiB for as long as they kept the TCP open).
      ws.terminate()
      upstream.close(1013, 'BACKPRESSURE')
    }
  }
  const closeCaller = (ws: Socket, code: number, reason: string) =>
    sendable(code) ? ws.close(code, reason) : ws.close(1000, reason)

  upstream.onmessage = e => {
    const data = e.data as string | ArrayBuffer
    if (caller) return toCaller(caller, data)
    pending?.push(data)
    pendingBytes += typeof data === 'string' ? data.length : data.byteLength
    if (pendingBytes > MAX_BUFFERED || !relays.within(queued)) upstream.close(1013, 'BACKPRESSURE')
  }
  upstream.onclose = e => {
    upstreamClose = { code: e.code, reason: e.reason }
    if (caller) closeCaller(caller, e.code, e.reason)
  }

  const handlers: SocketHandlers = {
    open(ws) {
      caller = ws
      for (const data of pending ?? []) toCaller(ws, data)
      pending = null
      if (upstreamClose) closeCaller(ws, upstreamClose.code, upstreamClose.reason)
    },
    message(ws, message) {
      if (upstream.readyState !== WebSocket.OPEN) return
      upstream.send(message)
      if (upstream.bufferedAmount > MAX_BUFFERED || !relays.within(queued)) {
        ws.close(1013, 'BACKPRESSURE')
        upstream.close(1013, 'BACKPRESSURE')
      }
    },
    drain() {
      relays.within(queued)
    },
    close(_ws, code, reason) {
      ended()
      relays.forget(queued)
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) {
        if (sendable(code)) upstream.close(code, reason)
        else upstream.close()
      }
    },
  }
  const chosen = upstream.protocol ? { 'sec-websocket-protocol': upstream.protocol } : undefined
  if (!upgradeSocket(server, request, handlers, chosen)) {
    relays.forget(queued)
    upstream.close()
    // The upstream answered: what Bun refused is the caller's handshake.
    return errorResponse(new ExecdError('INVALID_REQUEST_BODY', 'invalid WebSocket handshake'))
  }
  return undefined
}
