/** The bash sessions section's HTTP adapter: validate → call `SessionOps` → render. */
import { Elysia, t } from 'elysia'
import { emptyOk, json } from '../../core/errors'
import { errorSchemas, errors, missingPiece } from '../../core/responses'
import { streamed } from '../../core/sse'
import type { Streams } from '../../core/streams'
import type { SessionOps } from './ops'
import { CreateSessionBody, CreateSessionResponse, RunInSessionBody, SessionParams } from './schema'

export function sessionRoutes(ops: SessionOps, streams: Streams) {
  return new Elysia({ name: 'api/session', detail: { tags: ['session'] } })
    .post('/session', ({ body }) => json(ops.create(body ?? {})), {
      body: t.Optional(CreateSessionBody),
      response: {
        200: CreateSessionResponse,
        ...errorSchemas({
          400: 'invalid body or cwd',
          501: missingPiece('bash on PATH or /dev/null'),
          503: 'too many sessions',
        }),
      },
      detail: { summary: 'Start a bash session: one live bash whose state persists between runs' },
    })
    .post(
      '/session/:id/run',
      ({ params, body, request }) => {
        // A client that goes away interrupts its run (the session stays).
        const abort = new AbortController()
        return streamed(streams, () => ops.run(params.id, body, abort.signal), {
          onClose: () => abort.abort(),
          route: 'POST /session/{id}/run',
          request,
        })
      },
      {
        params: SessionParams,
        body: RunInSessionBody,
        detail: {
          summary: 'Run code in the session: SSE init → stdout/stderr lines → execution_complete or error',
          responses: {
            200: { description: 'text/event-stream of ExecEvent' },
            ...errors({
              400: 'invalid body',
              404: 'no such session, or it has ended',
              503: 'too many streams open at once, or runs queued (256 in the shell, 128 Mi characters of code in all)',
            }),
          },
        },
      },
    )
    .delete(
      '/session/:id',
      async ({ params }) => {
        await ops.delete(params.id)
        return emptyOk()
      },
      {
        params: SessionParams,
        detail: {
          summary: 'End a session: kill its bash and everything it started',
          responses: { 200: { description: 'ended, empty body' }, ...errors({ 404: 'no such session' }) },
        },
      },
    )
}
