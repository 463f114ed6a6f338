/** HTTP routes of the code section (CONTRACT §3): thin over CodeOps. */
import { Elysia, t, type Static } from 'elysia'
import { acceptsExactly } from '../../core/exact-body'
import { emptyOk, json, missingQuery } from '../../core/errors'
import type { InterruptHub } from '../../core/interrupts'
import type { DirectRoute } from '../../core/plugin'
import { errorSchemas, errors, missingPiece } from '../../core/responses'
import { replayStart } from '../../core/replay-start'
import { SHORT_WORK_HOLD_MS, streamed, type SourceWithHeaders } from '../../core/sse'
import type { Streams } from '../../core/streams'
import {
  CodeContextSchema,
  ContextParams,
  CreateContextBody,
  ExecutionParams,
  InterruptQuery,
  LanguageQuery,
  LanguageSchema,
  ReplayQuery,
  RequiredLanguageQuery,
  RunCodeBody,
  RunCodeQuery,
  SSE_RESPONSE,
} from './schema'
import type { CodeOps, Started } from './ops'

const EMPTY_OK = { description: 'done, empty body' }

const HOLD = { holdMs: SHORT_WORK_HOLD_MS, route: 'POST /code' }

/**
 * POST /code's answer, the same whichever way the request came. A cell in a context named by
 * id starts in this tick: no promise until the reply waits for the cell's end.
 */
const runCode = (streams: Streams, code: CodeOps, body: Static<typeof RunCodeBody>, wait: boolean, request: Request) =>
  streamed(
    streams,
    () => {
      const started = code.run(body, wait)
      return started instanceof Promise ? started.then(sourceOf) : sourceOf(started)
    },
    { ...HOLD, request },
  )

function sourceOf({ execution, events }: Started): SourceWithHeaders {
  if (!execution) return { events, headers: {} }
  return { events, headers: { 'EXECD-EXECUTION-ID': execution.id }, ended: execution.done }
}

/**
 * POST /code without a query, answered by the front door: a warm cell's round trip was twice
 * a /ping's, and Elysia's share of it (context, hooks, its own parse and check) the largest
 * part that is not the cell's. Any body the route would refuse or strip goes to the route.
 */
export const codeDirectRoutes = (code: CodeOps, streams: Streams): DirectRoute[] => [
  {
    method: 'POST',
    path: '/code',
    accepts: acceptsExactly(RunCodeBody),
    handle: (body, request) => runCode(streams, code, body, true, request),
  },
]

export const codeRoutes = (code: CodeOps, interrupts: InterruptHub, streams: Streams) =>
  new Elysia({ name: 'api/code', detail: { tags: ['code'] } })
    .post('/code/context', async ({ body }) => json(await code.createContext(body.language ?? '', body.cwd)), {
      body: CreateContextBody,
      response: {
        200: CodeContextSchema,
        ...errorSchemas({
          400: 'unknown language or invalid cwd',
          501: missingPiece('/dev/null'),
          503: 'too many contexts',
        }),
      },
      detail: { summary: 'Create a context: a live interpreter whose state survives between executions' },
    })
    .get('/code/contexts', ({ query }) => json(code.listContexts(query.language || undefined)), {
      query: LanguageQuery,
      response: { 200: t.Array(CodeContextSchema), ...errorSchemas() },
      detail: { summary: 'List contexts (default contexts included), optionally of one language' },
    })
    .delete(
      '/code/contexts',
      async ({ query }) => {
        if (!query.language) throw missingQuery('language')
        await code.deleteContexts(query.language)
        return emptyOk()
      },
      {
        query: RequiredLanguageQuery,
        detail: {
          summary: 'Delete every context of a language',
          responses: { 200: EMPTY_OK, ...errors({ 400: 'no ?language=' }) },
        },
      },
    )
    .get('/code/contexts/:contextId', ({ params }) => json(code.getContext(params.contextId)), {
      params: ContextParams,
      response: { 200: CodeContextSchema, ...errorSchemas({ 404: 'no such context' }) },
      detail: { summary: 'Get a context' },
    })
    .delete(
      '/code/contexts/:contextId',
      async ({ params }) => {
        await code.deleteContext(params.contextId)
        return emptyOk()
      },
      {
        params: ContextParams,
        detail: {
          summary: 'Delete a context and stop its interpreter',
          responses: { 200: EMPTY_OK, ...errors({ 404: 'no such context' }) },
        },
      },
    )
    .get('/code/languages', async () => json(await code.languages()), {
      response: { 200: t.Array(LanguageSchema), ...errorSchemas() },
      detail: { summary: 'Every language a runtime offers, and whether it can run here' },
    })
    .post('/code', ({ body, query, request }) => runCode(streams, code, body, query.wait !== 'false', request), {
      body: RunCodeBody,
      query: RunCodeQuery,
      detail: {
        summary: 'Run code in a context (or as a shell command without a language), streamed as SSE',
        responses: {
          ...SSE_RESPONSE,
          ...errors({
            400: 'invalid body, or an unknown language',
            404: 'no such context',
            501: missingPiece('/dev/null, or (a run without a language) the commands section in this executable'),
            503: 'too many streams open at once, executions queued (256 in the context, 128 Mi characters of code in all), or --max-contexts reached when the default context of the language must start',
          }),
        },
      },
    })
    .delete(
      '/code',
      async ({ query }) => {
        // The shared handler of the reference: the id may also name a command or a session.
        await interrupts.stop(query.id)
        return emptyOk()
      },
      {
        query: InterruptQuery,
        detail: {
          summary: 'Interrupt the running execution of a context; returns once it stopped (state kept)',
          responses: { 200: EMPTY_OK, ...errors({ 400: 'no ?id=', 404: 'nothing running under that id' }) },
        },
      },
    )
    .get(
      '/code/executions/:executionId/events',
      ({ params, query, headers, request }) =>
        streamed(streams, () => code.replay(params.executionId, replayStart(headers['last-event-id'], query.after)), {
          route: 'GET /code/executions/{executionId}/events',
          request,
        }),
      {
        params: ExecutionParams,
        query: ReplayQuery,
        detail: {
          summary: 'Replay an execution’s events after Last-Event-ID (or ?after=), then follow it live',
          responses: {
            ...SSE_RESPONSE,
            ...errors({
              400: 'Last-Event-ID or ?after= is no id this execution sent',
              404: 'no such execution',
              503: 'too many streams open at once',
            }),
          },
        },
      },
    )
