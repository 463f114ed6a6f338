/** The commands section's HTTP adapter: validate → call `CommandOps` → render. */
import { Elysia, type Static } from 'elysia'
import { acceptsExactly } from '../../core/exact-body'
import { emptyOk, json } from '../../core/errors'
import { fileBody } from '../../core/file-body'
import type { InterruptHub } from '../../core/interrupts'
import type { DirectRoute, PluginContext } from '../../core/plugin'
import { errorSchemas, errors, missingPiece } from '../../core/responses'
import { refuseProtoEnv } from '../../core/exec-strings'
import { replayStart } from '../../core/replay-start'
import { SHORT_WORK_HOLD_MS, streamed } from '../../core/sse'
import type { Streams } from '../../core/streams'
import type { CommandOps } from './ops'
import { CommandStatusSchema, EventsQuery, IdParams, InterruptQuery, LogsQuery, RunCommandBody } from './schema'

const EMPTY_OK = { description: 'interrupted, empty body' }

/**
 * A decimal integer as the reference's QueryInt64 reads one (anything else is `fallback`): not
 * what `Number` takes besides (`1e3`, `0x10`, ` 5`, `1.0`), which made `cursor=1e308` a cursor
 * echoed back as `1e+308`. Past 2^53 a number is no longer exact here: also `fallback`.
 */
const parseIntOr = (raw: string | null | undefined, fallback: number): number => {
  if (raw == null || !/^[+-]?\d{1,16}$/.test(raw)) return fallback
  const n = Number(raw)
  return Number.isSafeInteger(n) ? n : fallback
}

/** POST /command's answer, the same whichever way the request came. */
const runCommand = (streams: Streams, ops: CommandOps, body: Static<typeof RunCommandBody>, request: Request) =>
  streamed(streams, () => ops.respond(body), { holdMs: SHORT_WORK_HOLD_MS, route: 'POST /command', request })

/**
 * POST /command without a query, answered by the front door (as POST /code is): Elysia's
 * context, hooks and its own parse and check of the body are CPU on a short command's
 * critical path. Any body the route would refuse or strip (an `envs` named `__proto__` too,
 * which its transform refuses) goes to the route, so every error is its.
 */
export const commandDirectRoutes = (ops: CommandOps, streams: Streams): DirectRoute[] => [
  {
    method: 'POST',
    path: '/command',
    accepts: acceptsExactly(RunCommandBody),
    handle: (body, request) => runCommand(streams, ops, body, request),
  },
]

/** `app`: the app's streams and downloads, where its answers take their slot and are named. */
export function commandRoutes(ops: CommandOps, hub: InterruptHub, app: Pick<PluginContext, 'streams' | 'downloads'>) {
  return new Elysia({ name: 'api/command', detail: { tags: ['command'] } })
    .post('/command', ({ body, request }) => runCommand(app.streams, ops, body, request), {
      body: RunCommandBody,
      transform: ({ body }) => refuseProtoEnv((body as { envs?: unknown } | undefined)?.envs),
      detail: {
        summary: 'Run a shell command: SSE init → stdout/stderr lines → execution_complete or error',
        responses: {
          200: { description: 'text/event-stream of ExecEvent' },
          ...errors({
            400: 'invalid body or cwd',
            501: missingPiece('a shell (bash or sh on PATH) or /dev/null'),
            503: 'too many streams open at once, or commands running (--max-commands; --max-background-commands for a background one)',
          }),
        },
      },
    })
    .get('/command/status/:id', ({ params }) => json(ops.status(params.id)), {
      params: IdParams,
      response: { 200: CommandStatusSchema, ...errorSchemas({ 404: 'no such command' }) },
      detail: { summary: 'Status of a command (foreground or background)' },
    })
    .get(
      '/command/:id/logs',
      async ({ params, query, request, server }) => {
        const { handle, from, end, next } = await ops.logs(params.id, parseIntOr(query.cursor, 0))
        const headers = { 'content-type': 'text/plain; charset=utf-8', 'EXECD-COMMANDS-TAIL-CURSOR': String(next) }
        if (!handle) return new Response('', { headers })
        return fileBody(request.method, handle, from, end, 200, headers, {
          answer: { request, server },
          downloads: app.downloads,
        })
      },
      {
        params: IdParams,
        query: LogsQuery,
        detail: {
          summary:
            'Output bytes (stdout and stderr interleaved) from a byte cursor; next cursor in EXECD-COMMANDS-TAIL-CURSOR',
          responses: {
            200: {
              description: 'text/plain: the output from the cursor on',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...errors({ 400: 'a cursor that is not a byte offset', 404: 'no such command' }),
          },
        },
      },
    )
    .get(
      '/command/:id/events',
      ({ params, query, request }) => {
        return streamed(
          app.streams,
          () => ops.events(params.id, replayStart(request.headers.get('last-event-id'), query.after)),
          {
            route: 'GET /command/{id}/events',
            request,
          },
        )
      },
      {
        params: IdParams,
        query: EventsQuery,
        detail: {
          summary: 'Replay the events after Last-Event-ID (or ?after=), then follow live',
          responses: {
            200: { description: 'text/event-stream of ExecEvent' },
            ...errors({
              400: 'Last-Event-ID or ?after= is no id this command sent',
              404: 'no such command',
              503: 'too many streams open at once',
            }),
          },
        },
      },
    )
    .delete(
      '/command',
      async ({ query }) => {
        await hub.stop(query.id)
        return emptyOk()
      },
      {
        query: InterruptQuery,
        detail: {
          summary: 'Interrupt a command (SIGTERM, then SIGKILL), a code execution or a session run',
          responses: { 200: EMPTY_OK, ...errors({ 400: 'no ?id=', 404: 'nothing running under that id' }) },
        },
      },
    )
}
