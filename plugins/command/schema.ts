import { t } from 'elysia'

export const RunCommandBody = t.Object(
  {
    command: t.String({ description: 'shell command, run with bash -c (sh -c without bash)' }),
    cwd: t.Optional(t.String({ description: 'working directory (~ and $VAR expanded); must exist' })),
    background: t.Optional(t.Boolean({ description: 'return at once; output goes to the log' })),
    timeout: t.Optional(t.Number({ description: 'kill the process group after this many ms (0: no limit)' })),
    uid: t.Optional(t.Integer({ description: 'run as this user (execd must be root)' })),
    gid: t.Optional(t.Integer({ description: 'run with this group; requires uid' })),
    envs: t.Optional(
      t.Record(t.String(), t.String(), {
        description:
          "extra environment, highest precedence. Any name execve takes (dots and spaces too); refused with 400 before anything starts: an empty name, a name with '=', a newline or a NUL, a NUL in a value, a lone surrogate, an entry (NAME=value) of 131072 bytes or more, and an environment the kernel will not take (E2BIG)",
      }),
    ),
  },
  { title: 'RunCommandRequest' },
)

export const CommandStatusSchema = t.Object(
  {
    id: t.String(),
    content: t.Optional(t.String({ description: 'the command line' })),
    running: t.Boolean(),
    exit_code: t.Optional(t.Integer({ description: 'exit code; -1 when a signal ended it' })),
    error: t.Optional(
      t.String({ description: "how it failed: 'exit status 1', 'signal: killed (timeout after 1000 ms)'" }),
    ),
    started_at: t.String({ description: 'RFC 3339' }),
    finished_at: t.Optional(t.String({ description: 'RFC 3339' })),
    log_truncated: t.Optional(
      t.String({ description: 'why the log stopped before the output did (disk full, log size limit)' }),
    ),
  },
  { title: 'CommandStatus' },
)

export const IdParams = t.Object({ id: t.String() })

export const LogsQuery = t.Object({
  cursor: t.Optional(t.String({ description: 'byte offset to read from (the previous EXECD-COMMANDS-TAIL-CURSOR)' })),
})

export const EventsQuery = t.Object({
  after: t.Optional(t.String({ description: 'replay events after this id (or send Last-Event-ID)' })),
})

export const InterruptQuery = t.Object({
  id: t.Optional(t.String({ description: 'command, code context or session id' })),
})
