/**
 * `GET /pty/{id}/ws`: a client attaching to a terminal. What can be refused is refused before the
 * upgrade, with a status (no such terminal, held by another client, a start that could not begin,
 * not a WebSocket handshake); after it, Bun has answered and the socket is the connection's
 * (socket.ts).
 */
import { ExecdError } from '../../core/errors'
import { handshakeRefusal, upgradeSocket } from '../../core/websocket'
import type { PtyOps } from './ops'
import { checkFree, connection } from './socket'

export interface AttachQuery {
  /** `'0'`: pipes with separate stderr instead of a terminal (when starting). */
  pty?: string
  /** Replay retained output from this byte offset. */
  since?: string
  /** `'1'`: evict the connected client. */
  takeover?: string
}

const isUpgrade = (request: Request) => request.headers.get('upgrade')?.toLowerCase() === 'websocket'

/** Attaches the upgrading `request` to terminal `id`; throws the refusal when it cannot. */
export function attachSocket(
  ops: PtyOps,
  id: string,
  query: AttachQuery,
  request: Request,
  server: Parameters<typeof upgradeSocket>[0],
): void {
  const session = ops.session(id)
  const takeover = query.takeover === '1'
  checkFree(session, takeover)
  ops.checkStart(session, query.pty !== '0')
  if (!isUpgrade(request)) {
    // The reference never evicts for a plain GET; it answers as its WebSocket library would.
    if (takeover) checkFree(session, false)
    throw new ExecdError('INVALID_REQUEST_BODY', 'expected a WebSocket upgrade (GET with Upgrade: websocket)')
  }
  const refused = handshakeRefusal(request)
  if (refused) throw refused
  const conn = connection(session, {
    mode: query.pty === '0' ? 'pipe' : 'pty',
    since: Math.max(0, Number.parseInt(query.since ?? '0', 10) || 0),
    queues: ops.store.sendQueues,
  })
  conn.claim()
  if (!upgradeSocket(server, request, conn.handlers)) {
    conn.abandon()
    // Whatever else Bun refuses to upgrade is the handshake's fault too.
    throw handshakeRefusal(request) ?? new ExecdError('INVALID_REQUEST_BODY', 'invalid WebSocket handshake')
  }
  conn.evictPrevious()
}
