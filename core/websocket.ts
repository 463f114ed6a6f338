/**
 * WebSocket upgrades. The server has one handler set; each upgraded socket carries its own
 * handlers as its data, so a route can `server.upgrade(request, { data: handlers })` and own
 * the socket from then on. Elysia's `.ws()` routes put the same shape in the data.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun'

/** What a route hands to `server.upgrade` as `data`. */
export interface SocketHandlers {
  open?(ws: Socket): void
  message?(ws: Socket, message: string | Buffer): void
  drain?(ws: Socket): void
  close?(ws: Socket, code: number, reason: string): void
}

export type Socket = ServerWebSocket<SocketHandlers>

/** The `websocket` option of Bun.serve: dispatches every event to the socket's own handlers. */
export const socketDispatch: WebSocketHandler<SocketHandlers> = {
  open: ws => ws.data.open?.(ws),
  message: (ws, message) => ws.data.message?.(ws, message),
  drain: ws => ws.data.drain?.(ws),
  close: (ws, code, reason) => ws.data.close?.(ws, code, reason),
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
