import { t } from 'elysia'

export const CreatePtyBody = t.Optional(
  t.Object({
    cwd: t.Optional(t.String({ description: "working directory (must exist); default: execd's" })),
    command: t.Optional(t.String({ description: 'run `bash -c <command>` instead of an interactive shell' })),
  }),
)

export const SessionIdParams = t.Object({ id: t.String() })

export const CreatedPty = t.Object({ session_id: t.String() })

export const PtyStatus = t.Object({
  session_id: t.String(),
  running: t.Boolean({ description: 'the process is alive' }),
  output_offset: t.Number({ description: 'total bytes of output ever produced (replay offsets count from 0)' }),
})

export const ConnectQuery = t.Object({
  pty: t.Optional(t.String({ description: '"0": pipes with separate stderr instead of a terminal (when starting)' })),
  since: t.Optional(t.String({ description: 'replay retained output from this byte offset (default 0)' })),
  takeover: t.Optional(t.String({ description: '"1": evict the connected client (close 4001 TAKEN_OVER)' })),
})
