/** The isolated sessions' HTTP adapter (`/v1/isolated/*`, the SDK's paths): validate → call → render. */
import { Elysia } from 'elysia'
import { emptyOk, json } from '../../core/errors'
import { refuseProtoEnv } from '../../core/exec-strings'
import { errorSchemas, errors } from '../../core/responses'
import { streamed } from '../../core/sse'
import type { Streams } from '../../core/streams'
import type { PluginContext } from '../../core/plugin'
import { FILES_OPS, filesRoutesModule } from '../files/contract'
import { sessionFilesRoutes } from './files-routes'
import type { Session } from './ops/session'
import type { IsolatedOps } from './ops/sessions'
import {
  CapabilitiesSchema,
  CommitSchema,
  CreateBody,
  DiffQuery,
  DiffSchema,
  RunBody,
  SessionInfo,
  SessionList,
  SessionParams,
  SessionState,
} from './schema'

const UNAVAILABLE = 'NOT_SUPPORTED: isolation is unavailable on this machine'
const UNKNOWN = 'CONTEXT_NOT_FOUND: no session with this id'
const BAD = 'INVALID_REQUEST_BODY: a malformed or refused parameter'

function isolatedSessionRoutes(ops: IsolatedOps, streams: Streams) {
  const state = (s: Session) => ({
    status: s.bash.alive ? 'active' : 'dead',
    created_at: s.createdAt,
    // The SDK's generated schema requires it: until the first run, the session's own start.
    last_run_at: s.lastRunAt ?? s.createdAt,
    idle_remaining_seconds: ops.idleRemaining(s),
  })
  return new Elysia({ name: 'api/isolated', prefix: '/v1/isolated', detail: { tags: ['isolated'] } })
    .get('/capabilities', async () => json(await ops.capabilities()), {
      response: { 200: CapabilitiesSchema, ...errorSchemas() },
      detail: { summary: 'What isolation this machine offers, probed (bubblewrap, setpriv, user namespaces, overlay)' },
    })
    .post(
      '/session',
      async ({ body }) => {
        const s = await ops.create(body)
        return json({ session_id: s.id, created_at: s.createdAt, ...s.params }, 201)
      },
      {
        body: CreateBody,
        response: { 201: SessionInfo, ...errorSchemas({ 400: BAD, 503: UNAVAILABLE }) },
        detail: {
          summary: 'Start an isolated bash session: one live bash in its own namespaces, in its workspace',
          description: MEMORY_BOUNDS,
        },
      },
    )
    .get(
      '/sessions',
      async () => json({ sessions: (await ops.list()).map(s => ({ session_id: s.id, ...state(s) })) }),
      {
        response: { 200: SessionList, ...errorSchemas({ 503: UNAVAILABLE }) },
        detail: { summary: 'The isolated sessions' },
      },
    )
    .get(
      '/session/:sessionId',
      async ({ params }) => {
        const s = await ops.session(params.sessionId)
        return json({ ...state(s), ...s.params })
      },
      {
        params: SessionParams,
        response: { 200: SessionState, ...errorSchemas({ 404: UNKNOWN, 503: UNAVAILABLE }) },
        detail: { summary: 'State of a session, with every parameter it was created with' },
      },
    )
    .delete('/session/:sessionId', async ({ params }) => (await ops.delete(params.sessionId), emptyOk()), {
      params: SessionParams,
      detail: {
        summary: 'End a session: kill its sandbox and everything in it, remove its overlay',
        responses: { 200: { description: 'ended, empty body' }, ...errors({ 404: UNKNOWN, 503: UNAVAILABLE }) },
      },
    })
    .post(
      '/session/:sessionId/run',
      async ({ params, body, request }) => {
        // A client that goes away interrupts its run (the session stays).
        const abort = new AbortController()
        const events = await ops.run(params.sessionId, body, abort.signal)
        return streamed(streams, () => events, {
          onClose: () => abort.abort(),
          route: 'POST /v1/isolated/session/{id}/run',
          request,
        })
      },
      {
        params: SessionParams,
        body: RunBody,
        transform: ({ body }) => refuseProtoEnv((body as { envs?: unknown } | undefined)?.envs),
        detail: {
          summary: 'Run code in the session: SSE init → stdout/stderr lines → execution_complete or error',
          description:
            'A run whose code leaves the shell unable to end a run (`set -n`, a DEBUG trap under extdebug, ' +
            '`enable -n enable`…) ends about a second after it went quiet, with an error saying so, and the ' +
            "session's shell is ended with it (later runs: 404). " +
            MEMORY_BOUNDS,
          responses: {
            200: { description: 'text/event-stream of ExecEvent' },
            ...errors({
              400: BAD,
              404: UNKNOWN,
              503: `${UNAVAILABLE}; or runs queued (256 in the shell, 128 Mi characters of code in all)`,
            }),
          },
        },
      },
    )
    .get(
      '/session/:sessionId/diff',
      async ({ params, query }) => json(await ops.diff(params.sessionId, query.patch === 'true')),
      {
        params: SessionParams,
        query: DiffQuery,
        response: { 200: DiffSchema, ...errorSchemas({ 400: 'a rw or ro workspace', 404: UNKNOWN, 503: UNAVAILABLE }) },
        detail: {
          summary:
            'What an overlay session changed in its workspace (added, modified, deleted), with ?patch=true a unified diff',
          description: '400 for a rw or ro workspace, whose writes are already in place.',
        },
      },
    )
    .post('/session/:sessionId/commit', async ({ params }) => json(await ops.commit(params.sessionId)), {
      params: SessionParams,
      response: {
        200: CommitSchema,
        ...errorSchemas({
          400: 'a rw or ro workspace, or a run, a write through its files routes or another commit of the session in progress',
          404: UNKNOWN,
          503: UNAVAILABLE,
        }),
      },
      detail: {
        summary:
          "Apply an overlay session's changes to the real workspace (each file atomically), then empty its overlay",
        description:
          "The session's shell is started afresh over the empty overlay (same id and parameters, shell state reset). " +
          "400 for a rw or ro workspace, or while a run, an upload or other write through the session's files routes, " +
          "or another commit of the session is in progress (the contract's only 409, ALREADY_CONNECTED, names a " +
          'second client of a terminal). What arrives during a commit (a run, a diff, a files request, a DELETE) ' +
          'waits for it to end: a write then lands in the emptied overlay, not in the commit.',
      },
    })
}

/** What a session may hold in memory, as both the create and the run routes say it. */
const MEMORY_BOUNDS =
  'Files a session writes outside its workspace and binds are memory no process owns: `/tmp` and `/dev/shm` ' +
  "(and execd's temp dir, where the session's root would show it) are private tmpfs of `--isolated-tmpfs-size` " +
  'bytes each (default 256 MiB: 512 MiB a session, 768 MiB with a temp dir outside /tmp), bounded each, not ' +
  'together; a write past it fails with ENOSPC in the session. The root of a strict session and `/dev` are ' +
  'read-only. At most `--max-isolated-sessions` sessions (default 16) at once: 503 past it.'

/**
 * The section's routes: the sessions' own, then the files section's routes over a session's view,
 * served with the files section's operations as it opened them (it opens before this one, in
 * list order, and offers them in the registry).
 */
export async function isolatedRoutes(ops: IsolatedOps, ctx: PluginContext) {
  const files = ctx.registry.require(FILES_OPS)
  return new Elysia()
    .use(isolatedSessionRoutes(ops, ctx.streams))
    .use(sessionFilesRoutes(ops, files, await filesRoutesModule(), ctx.downloads, ctx.log))
}
