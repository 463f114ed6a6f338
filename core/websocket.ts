/**
 * WebSocket upgrades. The server has one handler set; each upgraded socket carries its own
 * handlers as its data, so a route can `server.upgrade(request, { data: handlers })` and own
 * the socket from then on. Elysia's `.ws()` routes put the same shape in the data.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun'
import { ExecdError } from './errors'

/** What a route hands to `server.upgrade` as `data`. */
export interface SocketHandlers {
  open?(ws: Socket): void
  message?(ws: Socket, message: string | Buffer): void
  drain?(ws: Socket): void
  close?(ws: Socket, code: number, reason: string): void
}

export type Socket = ServerWebSocket<SocketHandlers>

/**
 * The `websocket` option of Bun.serve: dispatches every event to the socket's own handlers.
 * An exception thrown inside a WebSocket handler ends the whole process in Bun, so no route's
 * bug may escape here: the failing socket is closed with 1011 and the daemon goes on.
 */
export const socketDispatch: WebSocketHandler<SocketHandlers> = {
  open: ws => guarded(ws, () => ws.data.open?.(ws)),
  message: (ws, message) => guarded(ws, () => ws.data.message?.(ws, message)),
  drain: ws => guarded(ws, () => ws.data.drain?.(ws)),
  close: (ws, code, reason) => guarded(ws, () => ws.data.close?.(ws, code, reason)),
}

function guarded(ws: Socket, handler: () => unknown): void {
  try {
    const result = handler()
    if (result instanceof Promise) result.catch(() => closeQuietly(ws))
  } catch {
    closeQuietly(ws)
  }
}

function closeQuietly(ws: Socket): void {
  try {
    ws.close(1011, 'internal error')
  } catch {}
}

/** RFC 6455 §4.1: 16 bytes in base64, what Bun's upgrade checks. */
const HANDSHAKE_KEY = /^[A-Za-z0-9+/]{22}==$/

/**
 * The 400 of a WebSocket handshake Bun will not upgrade, or undefined: its Sec-WebSocket-Key
 * missing or not 16 bytes in base64, or its Sec-WebSocket-Version not exactly 13 (Bun's own test:
 * the header's one value, so `13, 8` or two such lines are refused too). The key was a 500
 * "WebSocket upgrade failed" on /pty/{id}/ws and a 502 from the proxy after it had dialed the
 * upstream for nothing; the version was Bun's bare 426 on both, the proxy's again after a dial
 * (and, behind an upstream that never answers, no answer at all). Named with the version this
 * server speaks, as RFC 6455 §4.4 asks (and a 400, as Go's gorilla/websocket answers it).
 */
export function handshakeRefusal(request: Request): ExecdError | undefined {
  // Bun upgrades a GET only (RFC 6455 §4.1); the proxy dialed the upstream for a POST first.
  if (request.method !== 'GET')
    return new ExecdError(
      'INVALID_REQUEST_BODY',
      `invalid WebSocket handshake: it is a GET (RFC 6455), not a ${request.method}`,
    )
  if (!HANDSHAKE_KEY.test(request.headers.get('sec-websocket-key') ?? ''))
    return new ExecdError(
      'INVALID_REQUEST_BODY',
      'invalid WebSocket handshake: Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455)',
    )
  const version = request.headers.get('sec-websocket-version')
  if (version === '13') return undefined
  return new ExecdError(
    'INVALID_REQUEST_BODY',
    `invalid WebSocket handshake: Sec-WebSocket-Version must be 13 (RFC 6455), got ${version === null ? 'none' : JSON.stringify(version.slice(0, 32))}`,
    { headers: { 'sec-websocket-version': '13' } },
  )
}

/**
 * Upgrades `request` to a socket driven by `handlers`, with extra handshake response
 * `headers` (e.g. the chosen Sec-WebSocket-Protocol); false when it is no WebSocket handshake.
 */
export function upgradeSocket(
  server: Server<SocketHandlers> | null | undefined,
  request: Request,
  handlers: SocketHandlers,
  headers?: HeadersInit,
): boolean {
  return server?.upgrade(request, { data: handlers, headers }) ?? false
}
