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
