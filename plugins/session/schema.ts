import { t } from 'elysia'

export const CreateSessionBody = t.Object(
  { cwd: t.Optional(t.String({ description: 'starting directory (~ and $VAR expanded, created if missing)' })) },
  { title: 'CreateSessionRequest' },
)

export const CreateSessionResponse = t.Object({ session_id: t.String() }, { title: 'CreateSessionResponse' })

export const RunInSessionBody = t.Object(
  {
    command: t.String({ description: 'bash code, run in the session shell (state persists)' }),
    cwd: t.Optional(t.String({ description: 'cd here first (the change persists, like a cd in the code)' })),
    timeout: t.Optional(t.Number({ description: 'interrupt the run after this many ms (0: no limit)' })),
  },
  { title: 'RunInSessionRequest' },
)

export const SessionParams = t.Object({ id: t.String() })
