/** TypeBox models of the isolated sessions' requests and responses, with the SDK's field names. */
import { t } from 'elysia'
import { MAX_ID } from './ops/params'

const Profile = t.Union([t.Literal('strict'), t.Literal('balanced')], {
  description: 'strict: only system dirs (read-only), the workspace and the writable set; balanced: all of / readable',
})
const Mode = t.Union([t.Literal('rw'), t.Literal('overlay'), t.Literal('ro')], {
  description: 'rw: bind; ro: read-only bind; overlay: writes go to a layer that diff shows and commit applies',
})
const UidMode = t.Union([t.Literal('setpriv'), t.Literal('userns')], {
  description: 'setpriv (default): a real setuid; userns: a user namespace mapping uid/gid',
})

const WorkspaceSpec = t.Object(
  {
    path: t.String({ description: 'existing host directory, mounted at the same path; the session starts in it' }),
    mode: t.Optional(Mode),
  },
  { title: 'IsolatedWorkspaceSpec' },
)

const BindMount = t.Object(
  {
    source: t.String({ description: 'host path, within the --isolated-binds allowlist' }),
    dest: t.Optional(t.String({ description: 'where inside (default: source)' })),
    readonly: t.Optional(t.Boolean({ description: 'read-only bind (default false)' })),
  },
  { title: 'BindMount' },
)

const EnvPassthrough = t.Object(
  {
    mode: t.Optional(t.Union([t.Literal('allow'), t.Literal('deny')], { description: 'default allow' })),
    keys: t.Optional(t.Array(t.String())),
  },
  {
    title: 'EnvPassthroughSpec',
    description: "which of execd's environment variables the shell gets (without it: all, secrets withheld)",
  },
)

const creation = {
  profile: t.Optional(Profile),
  workspace: WorkspaceSpec,
  extra_writable: t.Optional(
    t.Array(t.String(), { description: 'more host dirs writable at the same path (within --isolated-binds)' }),
  ),
  binds: t.Optional(t.Array(BindMount)),
  share_net: t.Optional(t.Boolean({ description: "the host's network (default: none but loopback of its own)" })),
  env_passthrough: t.Optional(EnvPassthrough),
  uid: t.Optional(t.Integer({ minimum: 0, maximum: MAX_ID })),
  gid: t.Optional(t.Integer({ minimum: 0, maximum: MAX_ID })),
  uid_mode: t.Optional(UidMode),
  idle_timeout_seconds: t.Optional(
    t.Number({
      minimum: 0,
      description:
        'destroyed after this long without a run or a write through its files routes (0: never; default --isolated-idle)',
    }),
  ),
}

export const CreateBody = t.Object(creation, { title: 'CreateIsolatedSessionRequest' })

const echoed = {
  profile: t.Optional(Profile),
  workspace: t.Optional(WorkspaceSpec),
  extra_writable: t.Optional(t.Array(t.String())),
  binds: t.Optional(t.Array(BindMount)),
  share_net: t.Optional(t.Boolean()),
  env_passthrough: t.Optional(EnvPassthrough),
  uid: t.Optional(t.Integer()),
  gid: t.Optional(t.Integer()),
  uid_mode: t.Optional(UidMode),
  idle_timeout_seconds: t.Optional(t.Number()),
}

export const SessionInfo = t.Object(
  { session_id: t.String(), created_at: t.String({ description: 'RFC 3339' }), ...echoed },
  { title: 'IsolatedSessionInfo' },
)

const Status = t.Union([t.Literal('active'), t.Literal('dead'), t.Literal('destroyed')], {
  description: 'dead: the shell exited (`exit`); the session stays until deleted',
})
const runtime = {
  status: Status,
  created_at: t.String({ description: 'RFC 3339' }),
  last_run_at: t.String({ description: 'RFC 3339; created_at until the first run' }),
  idle_remaining_seconds: t.Union([t.Number(), t.Null()], { description: 'null: no idle timeout' }),
}

export const SessionState = t.Object({ ...runtime, ...echoed }, { title: 'SessionState' })

export const SessionList = t.Object(
  { sessions: t.Array(t.Object({ session_id: t.String(), ...runtime }, { title: 'IsolatedSessionSummary' })) },
  { title: 'ListIsolatedSessionsResponse' },
)

export const CapabilitiesSchema = t.Object(
  {
    available: t.Boolean(),
    isolator: t.String({ description: 'bubblewrap' }),
    version: t.Optional(t.String()),
    message: t.Optional(t.String({ description: 'why isolation (or a part of it) is unavailable' })),
    setpriv_available: t.Boolean(),
    userns_available: t.Boolean(),
    diff_supported: t.Boolean(),
    commit_supported: t.Boolean(),
  },
  { title: 'CapabilitiesResponse' },
)

export const RunBody = t.Object(
  {
    code: t.String({ description: 'bash code, run in the session shell (state persists)' }),
    envs: t.Optional(
      t.Record(t.String(), t.String(), {
        description:
          "exported in the session shell first; they persist. Names a shell can export ([A-Za-z_][A-Za-z0-9_]*), the values as a command takes them (no NUL, each NAME=value under 131072 bytes); what runs have exported in the session (a commit's fresh shell starts anew) is bounded to 4096 entries and 1048576 bytes, each entry's NAME=value, NUL and 8-byte pointer counted; past either a 400",
      }),
    ),
    timeout_seconds: t.Optional(t.Number({ description: 'interrupt the run after this long (0: no limit)' })),
  },
  { title: 'IsolatedRunRequest' },
)

export const SessionParams = t.Object({ sessionId: t.String() })

const Changed = t.Object(
  {
    path: t.String({ description: 'absolute, as inside the session (the workspace is at the same path)' }),
    change: t.Union([t.Literal('added'), t.Literal('modified'), t.Literal('deleted')]),
    type: t.Union(
      [
        t.Literal('file'),
        t.Literal('directory'),
        t.Literal('symlink'),
        t.Literal('fifo'),
        t.Literal('socket'),
        t.Literal('device'),
      ],
      {
        description:
          'a fifo is committed as a fifo (made anew); a socket or a device node (character or block) is not carried out by a commit (see skipped)',
      },
    ),
    size_before: t.Optional(t.Number({ description: 'bytes in the workspace (absent when added)' })),
    size_after: t.Optional(t.Number({ description: 'bytes in the overlay (absent when deleted)' })),
  },
  { title: 'IsolatedChangedPath' },
)

export const DiffSchema = t.Object(
  {
    workspace: t.String(),
    changes: t.Array(Changed, { description: 'parents before their contents; at most 10000' }),
    patch: t.Optional(
      t.String({
        description: 'with ?patch=true: unified diff of the text files (at most 1 MiB, 1000 files, 256 KiB each)',
      }),
    ),
    truncated: t.Optional(t.Boolean({ description: 'changes or patch were cut at their cap' })),
  },
  { title: 'IsolatedDiffResponse' },
)

export const DiffQuery = t.Object({
  patch: t.Optional(t.String({ description: 'true: add a unified diff of the changed text files' })),
})

export const CommitSchema = t.Object(
  {
    applied: t.Array(Changed, { description: 'what was written to (or removed from) the real workspace' }),
    skipped: t.Array(Changed, {
      description:
        "what the session made and the commit did not carry out: sockets (nothing listens on one once the session's sandbox is gone) and device nodes (one made outside the sandbox would open the machine's device); they are not in the workspace and go with the emptied overlay",
    }),
    session_restarted: t.Boolean({
      description:
        "the overlay is emptied by starting the session's shell afresh: its state is reset (false where execd's " +
        'temp dir holding the session was removed as the commit ended: the shell is gone, delete the session)',
    }),
  },
  { title: 'IsolatedCommitResponse' },
)
