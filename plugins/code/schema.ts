import { t } from 'elysia'

export const CreateContextBody = t.Object(
  {
    language: t.Optional(t.String({ description: 'python, javascript, ... (GET /code/languages lists them)' })),
    cwd: t.Optional(t.String({ description: 'working directory (~ and $VAR expanded, created if missing)' })),
  },
  { title: 'CreateContextRequest' },
)

export const CodeContextSchema = t.Object(
  {
    id: t.String(),
    language: t.String(),
    cwd: t.Optional(t.String({ description: 'the cwd of the request, as written (present when one was given)' })),
  },
  { title: 'CodeContext' },
)

export const RunCodeBody = t.Object(
  {
    code: t.String({ minLength: 1, description: 'the code to run' }),
    context: t.Optional(
      t.Object({
        id: t.Optional(t.String({ description: 'a context id; absent: the language’s default context' })),
        language: t.Optional(t.String({ description: 'absent or "command": run as a shell command' })),
        cwd: t.Optional(
          t.String({ description: 'accepted for compatibility; contexts keep the cwd they were created with' }),
        ),
      }),
    ),
  },
  { title: 'RunCodeRequest' },
)

export const LanguageSchema = t.Object(
  {
    language: t.String(),
    available: t.Boolean({ description: 'whether its interpreter can run on this machine' }),
    runtime: t.String({ description: 'the runtime plugin that serves it' }),
    detail: t.Optional(t.String({ description: 'interpreter and version, or why it is unavailable' })),
  },
  { title: 'Language' },
)

export const SSE_RESPONSE = {
  200: { description: 'text/event-stream: init (context id, execution_id) → ping → output → execution_complete' },
}

export const ContextParams = t.Object({ contextId: t.String() })

export const ExecutionParams = t.Object({ executionId: t.String() })

/** GET /code/contexts: all of them, or one language's. */
export const LanguageQuery = t.Object({ language: t.Optional(t.String()) })

/** DELETE /code/contexts: optional to the validator, so that its absence is our 400, not Elysia's. */
export const RequiredLanguageQuery = t.Object({ language: t.Optional(t.String({ description: 'required' })) })

export const RunCodeQuery = t.Object({
  wait: t.Optional(t.String({ description: '"false": fail with a ContextBusy error instead of queueing' })),
})

export const InterruptQuery = t.Object({
  id: t.Optional(t.String({ description: 'required: a context id (or an execution, command or session id)' })),
})

export const ReplayQuery = t.Object({
  after: t.Optional(t.String({ description: 'replay events after this id (like Last-Event-ID)' })),
})
