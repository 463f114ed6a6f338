/** The bash sessions section (CONTRACT §4): `POST /session`, `POST /session/:id/run`, `DELETE /session/:id`. */
import { Elysia, t } from 'elysia'
import type { OptionSpec } from '../../core/config'
import { emptyOk, json } from '../../core/errors'
import { INTERRUPTS } from '../../core/interrupts'
import type { Plugin } from '../../core/plugin'
import { streamed } from '../../core/sse'
import { Sessions } from './ops'
import { CreateSessionBody, CreateSessionResponse, RunInSessionBody, SessionParams } from './schema'

const DEFAULT_MAX = 64
const DEFAULT_IDLE_MS = 30 * 60 * 1000

const options: OptionSpec[] = [
  {
    flag: 'max-sessions',
    env: 'EXECD_MAX_SESSIONS',
    description: 'bash sessions at once (0 = no limit); more are refused with 503',
    default: String(DEFAULT_MAX),
  },
  {
    flag: 'session-idle',
    env: 'EXECD_SESSION_IDLE_MS',
    description: 'ms a session may go without a run before it is ended (0 = never); a running session is not idle',
    default: String(DEFAULT_IDLE_MS),
  },
]

let sessions: Sessions | undefined

export const session: Plugin = {
  name: 'session',
  options,
  setup(ctx) {
    const ops = (sessions = new Sessions({
      max: ctx.config.int('max-sessions', DEFAULT_MAX),
      idleMs: ctx.config.int('session-idle', DEFAULT_IDLE_MS),
    }))
    ctx.registry.require(INTERRUPTS).add(30, id => ops.interrupt(id))
  },
  routes: () => {
    const ops = sessions!
    return new Elysia({ name: 'api/session', detail: { tags: ['session'] } })
      .post('/session', ({ body }) => json(ops.create(body ?? {})), {
        body: t.Optional(CreateSessionBody),
        response: { 200: CreateSessionResponse },
        detail: { summary: 'Start a bash session: one live bash whose state persists between runs' },
      })
      .post(
        '/session/:id/run',
        ({ params, body }) => {
          // A client that goes away interrupts its run (the session stays).
          const abort = new AbortController()
          return streamed(() => ops.run(params.id, body, abort.signal), { onClose: () => abort.abort() })
        },
        {
          params: SessionParams,
          body: RunInSessionBody,
          detail: {
            summary: 'Run code in the session: SSE init → stdout/stderr lines → execution_complete or error',
            responses: { 200: { description: 'text/event-stream of ExecEvent' } },
          },
        },
      )
      .delete(
        '/session/:id',
        async ({ params }) => {
          await ops.delete(params.id)
          return emptyOk()
        },
        { params: SessionParams, detail: { summary: 'End a session: kill its bash and everything it started' } },
      )
  },
  close: () => sessions?.close(),
}
