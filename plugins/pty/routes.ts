/** The PTY section's HTTP adapter: validate → call `PtyOps` → render; `/ws` hands the request to attach.ts. */
import { Elysia } from 'elysia'
import { emptyOk, json } from '../../core/errors'
import { errorSchemas, errors, missingPiece } from '../../core/responses'
import { attachSocket } from './attach'
import type { PtyOps } from './ops'
import { ConnectQuery, CreatePtyBody, CreatedPty, PtyStatus, SessionIdParams } from './schema'

export function ptyRoutes(ops: PtyOps) {
  return new Elysia({ name: 'api/pty', detail: { tags: ['pty'] } })
    .post('/pty', ({ body }) => json(ops.create(body ?? {}), 201), {
      body: CreatePtyBody,
      response: {
        201: CreatedPty,
        ...errorSchemas({
          400: 'invalid body or cwd',
          501: missingPiece('bash on PATH'),
          503: 'too many terminals (--max-ptys)',
        }),
      },
      detail: { summary: 'Create a PTY session (the shell starts when a client connects)' },
    })
    .get('/pty/:id', ({ params }) => json(ops.status(params.id)), {
      params: SessionIdParams,
      response: { 200: PtyStatus, ...errorSchemas({ 404: 'no such terminal' }) },
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
        detail: {
          summary: "Kill the session's processes (every job of the terminal) and forget it",
          responses: {
            200: { description: 'hung up and removed, empty body' },
            ...errors({ 404: 'no such terminal' }),
          },
        },
      },
    )
    .get(
      '/pty/:id/ws',
      ({ params, query, request, server }) => {
        attachSocket(ops, params.id, query, request, server as Parameters<typeof attachSocket>[4])
        // Bun has answered the handshake; no response of ours may follow.
        return undefined
      },
      {
        params: SessionIdParams,
        query: ConnectQuery,
        detail: {
          summary:
            'Attach to the session over a WebSocket (binary frames 0x00 stdin, 0x01 stdout, 0x02 stderr, 0x03 replay; JSON control frames)',
          responses: {
            101: { description: 'Switching Protocols: the WebSocket to the terminal' },
            ...errors({
              400: 'not a WebSocket upgrade, or one Bun would not upgrade (Sec-WebSocket-Key not 16 bytes in base64, Sec-WebSocket-Version not 13), or an invalid query',
              404: 'no such terminal',
              409: 'ALREADY_CONNECTED: another client holds it (ask ?takeover=1)',
              501: missingPiece('a pseudo-terminal (/dev/ptmx, devpts; ?pty=0 needs none) or /dev/null'),
            }),
          },
        },
      },
    )
}
