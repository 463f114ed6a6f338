/** The PTY section's HTTP adapter: validate → call `PtyOps` → render; `/ws` hands the socket to socket.ts. */
import { Elysia } from 'elysia'
import { requirePiece } from '../../core/capabilities'
import { ExecdError, emptyOk, json } from '../../core/errors'
import { upgradeSocket } from '../../core/websocket'
import type { PtyOps } from './ops'
import { ConnectQuery, CreatePtyBody, CreatedPty, ErrorBody, PtyStatus, SessionIdParams } from './schema'
import { checkFree, connection } from './socket'

const isUpgrade = (request: Request) => request.headers.get('upgrade')?.toLowerCase() === 'websocket'

export function ptyRoutes(ops: PtyOps) {
  return new Elysia({ name: 'api/pty', detail: { tags: ['pty'] } })
    .post('/pty', ({ body }) => json(ops.create(body ?? {}), 201), {
      body: CreatePtyBody,
      response: { 201: CreatedPty, 400: ErrorBody, 503: ErrorBody },
      detail: { summary: 'Create a PTY session (the shell starts when a client connects)' },
    })
    .get('/pty/:id', ({ params }) => json(ops.status(params.id)), {
      params: SessionIdParams,
      response: { 200: PtyStatus, 404: ErrorBody },
      detail: { summary: 'PTY session status: running, and the total output offset' },
    })
    .delete(
      '/pty/:id',
      async ({ params }) => {
        await ops.delete(params.id)
        return emptyOk()
      },
      {
        params: SessionIdParams,
        response: { 404: ErrorBody },
        detail: { summary: "Kill the session's processes (every job of the terminal) and forget it" },
      },
    )
    .get(
      '/pty/:id/ws',
      ({ params, query, request, server }) => {
        const session = ops.session(params.id)
        const takeover = query.takeover === '1'
        checkFree(session, takeover)
        if (query.pty !== '0' && !session.started) requirePiece('devpts', 'cannot open a pseudo-terminal')
        if (!isUpgrade(request)) {
          // The reference never evicts for a plain GET; it answers as its WebSocket library would.
          if (takeover) checkFree(session, false)
          throw new ExecdError('INVALID_REQUEST_BODY', 'expected a WebSocket upgrade (GET with Upgrade: websocket)')
        }
        const conn = connection(session, {
          mode: query.pty === '0' ? 'pipe' : 'pty',
          since: Math.max(0, Number.parseInt(query.since ?? '0', 10) || 0),
        })
        conn.claim()
        if (!upgradeSocket(server as Parameters<typeof upgradeSocket>[0], request, conn.handlers)) {
          conn.abandon()
          throw new ExecdError('RUNTIME_ERROR', 'WebSocket upgrade failed')
        }
        conn.evictPrevious()
        // Bun has answered the handshake; no response of ours may follow.
        return undefined
      },
      {
        params: SessionIdParams,
        query: ConnectQuery,
        response: { 404: ErrorBody, 409: ErrorBody },
        detail: {
          summary:
            'Attach to the session over a WebSocket (binary frames 0x00 stdin, 0x01 stdout, 0x02 stderr, 0x03 replay; JSON control frames)',
        },
      },
    )
}
