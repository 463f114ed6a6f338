/** HTTP routes of the code section (CONTRACT §3): thin over CodeService. */
import { Elysia, t } from 'elysia'
import { emptyOk, json, missingQuery } from '../../core/errors'
import type { InterruptHub } from '../../core/interrupts'
import { streamed, type SourceWithHeaders } from '../../core/sse'
import { CodeContextSchema, CreateContextBody, LanguageSchema, RunCodeBody, SSE_RESPONSE } from './schema'
import type { CodeService } from './service'

const IdParams = t.Object({ contextId: t.String() })

export const codeRoutes = (code: CodeService, interrupts: InterruptHub) =>
  new Elysia({ name: 'api/code', detail: { tags: ['code'] } })
    .post('/code/context', async ({ body }) => json(await code.createContext(body.language ?? '', body.cwd)), {
      body: CreateContextBody,
      response: { 200: CodeContextSchema },
      detail: { summary: 'Create a context: a live interpreter whose state survives between executions' },
    })
    .get('/code/contexts', ({ query }) => json(code.listContexts(query.language || undefined)), {
      query: t.Object({ language: t.Optional(t.String()) }),
      response: { 200: t.Array(CodeContextSchema) },
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
        query: t.Object({ language: t.Optional(t.String({ description: 'required' })) }),
        detail: { summary: 'Delete every context of a language' },
      },
    )
    .get('/code/contexts/:contextId', ({ params }) => json(code.getContext(params.contextId)), {
      params: IdParams,
      response: { 200: CodeContextSchema },
      detail: { summary: 'Get a context' },
    })
    .delete(
      '/code/contexts/:contextId',
      async ({ params }) => {
        await code.deleteContext(params.contextId)
        return emptyOk()
      },
      {
        params: IdParams,
        detail: { summary: 'Delete a context and stop its interpreter' },
      },
    )
    .get('/code/languages', async () => json(await code.languages()), {
      response: { 200: t.Array(LanguageSchema) },
      detail: { summary: 'Every language a runtime offers, and whether it can run here' },
    })
    .post(
      '/code',
      ({ body, query }) =>
        streamed(async (): Promise<SourceWithHeaders> => {
          const { execution, events } = await code.run({ ...body, wait: query.wait !== 'false' })
          return { events, headers: execution ? { 'EXECD-EXECUTION-ID': execution.id } : {} }
        }),
      {
        body: RunCodeBody,
        query: t.Object({
          wait: t.Optional(t.String({ description: '"false": fail with a ContextBusy error instead of queueing' })),
        }),
        detail: {
          summary: 'Run code in a context (or as a shell command without a language), streamed as SSE',
          responses: SSE_RESPONSE,
        },
      },
    )
    .delete(
      '/code',
      async ({ query }) => {
        // The shared handler of the reference: the id may also name a command or a session.
        await interrupts.stop(query.id)
        return emptyOk()
      },
      {
        query: t.Object({
          id: t.Optional(t.String({ description: 'required: a context id (or an execution, command or session id)' })),
        }),
        detail: { summary: 'Interrupt the running execution of a context; returns once it stopped (state kept)' },
      },
    )
    .get(
      '/code/executions/:executionId/events',
      ({ params, query, headers }) => {
        const after = Number(headers['last-event-id'] ?? query.after ?? 0)
        return streamed(() =>
          code.replay(params.executionId, Number.isFinite(after) && after > 0 ? Math.floor(after) : 0),
        )
      },
      {
        params: t.Object({ executionId: t.String() }),
        query: t.Object({
          after: t.Optional(t.String({ description: 'replay events after this id (like Last-Event-ID)' })),
        }),
        detail: {
          summary: 'Replay an execution’s events after Last-Event-ID (or ?after=), then follow it live',
          responses: SSE_RESPONSE,
        },
      },
    )
