/**
 * `session/{id}/files/...` and `session/{id}/directories...`: the files section's own routes
 * (validation, multipart upload, ranges, every error), served over the session's view. One
 * instance of those routes is built over a scope that stands for the session of the request
 * being served (an AsyncLocalStorage set around the call), and each request is handed to it
 * with the `/v1/isolated/session/{id}` part of its path taken off.
 */
import type { TObject, TSchema } from '@sinclair/typebox'
import { Elysia, type AnyElysia } from 'elysia'
import { AsyncLocalStorage } from 'node:async_hooks'
import { answeredFor } from '../../core/answering'
import { askedOf, renderError } from '../../core/mount'
import type { Downloads } from '../../core/downloads'
import { ExecdError } from '../../core/errors'
import type { Logger } from '../../core/log'
import { errors } from '../../core/responses'
import { PathScope, type RawPath } from '../../core/beneath/path-scope'
import type { Anchor, WalkOptions } from '../../core/beneath/walk'
import { lineWindow, parseDepth, type FilesOps, type filesRoutesModule } from '../files/contract'
import { SessionScope } from './ops/files'
import type { IsolatedOps } from './ops/sessions'
import { SessionParams } from './schema'
import {
  DownloadHeaders,
  DownloadQuery,
  InfoQuery,
  ListQuery,
  RemoveDirsQuery,
  RemoveFilesQuery,
  ReplaceQuery,
  SearchQuery,
  UPLOAD_PARTS,
} from './files-schema'

const current = new AsyncLocalStorage<SessionScope>()

/** The scope of the session whose request is being served. */
class CurrentScope extends PathScope {
  private get scope(): SessionScope {
    const s = current.getStore()
    if (!s) throw new ExecdError('RUNTIME_ERROR', 'no isolated session for this request')
    return s
  }
  override normalise(raw: RawPath): string {
    return this.scope.normalise(raw)
  }
  override anchor(raw: RawPath, opts?: WalkOptions): Anchor {
    return this.scope.anchor(raw, opts)
  }
}

/** The files section's routes module, loaded by the caller (plugins/files/contract.ts). */
export type FilesRoutes = Awaited<ReturnType<typeof filesRoutesModule>>

/** A query as a transform sees it: before the route's schema has checked it. */
type Unchecked = { query: Record<string, unknown> }
const text = (v: unknown) => (typeof v === 'string' ? v : undefined)
/**
 * The files section's own checks of a depth, an offset and a limit: the one check of them. A
 * value it refuses is refused in its words (`invalid query parameter 'depth': abc`); an empty one,
 * which it reads as absent, is absent to the view's schema too, whose patterns document the
 * values rather than check them again. The request goes on as sent (`offset=` is a line read).
 */
const checkedBy =
  (check: (query: Record<string, unknown>) => unknown, ...names: string[]) =>
  ({ query }: Unchecked) => {
    check(query)
    for (const name of names) if (query[name] === '') delete query[name]
  }
const CHECKS = {
  depth: checkedBy(query => parseDepth(text(query.depth)), 'depth'),
  lines: checkedBy(query => lineWindow({ offset: text(query.offset), limit: text(query.limit) }), 'offset', 'limit'),
}

const READS = new Set(['GET', 'HEAD'])
/** A download's answers besides the 200. */
const RANGES = { 416: 'RANGE_NOT_SATISFIABLE' }
const WRITES: Record<number, string> = { 403: 'FORBIDDEN: a write to a ro workspace' }

export function sessionFilesRoutes(
  ops: IsolatedOps,
  /** The files section's operations, served here over the session of the request (`over`). */
  files: FilesOps,
  module: FilesRoutes,
  downloads: Downloads,
  log: Logger,
) {
  /** A forwarded request → the one the client sent: its path and its signal are what is logged. */
  const sent = new WeakMap<Request, Request>()
  // As every group (core/mount.ts): the path starts after the first '/' past the scheme, not at
  // Elysia's fixed offset, which a short Host (`Host: x`) put inside the path (404). Its errors
  // are rendered, and logged, as the files section's own are.
  const served = new Elysia({ name: 'isolated/files-view', handler: { standardHostname: false } })
    .onError(({ code, error, request }) => renderError(code, error, sent.get(request) ?? request, log))
    .use(module.filesRoutes(files.over(new CurrentScope()), downloads))

  /**
   * Hands the request to the files section's route over the session's view. A JSON body was
   * read and validated here (its schema is this route's): it goes on as that JSON; any other
   * body (an upload) goes on as the stream it is.
   */
  const forward = async ({
    params,
    request: received,
    body,
    server,
  }: {
    params: { sessionId: string }
    request: Request
    body?: unknown
    server: AnyElysia['server']
  }) => {
    // A HEAD comes to the GET route (core/mount.ts): the view is asked the HEAD.
    const request = askedOf(received)
    const write = !READS.has(request.method)
    return ops.overView(params.sessionId, write, (s, view) => {
      if (write && s.params.workspace.mode === 'ro') {
        throw new ExecdError('FORBIDDEN', `the workspace of isolated session ${s.id} is read-only (mode ro)`)
      }
      const scope = new SessionScope(view)
      const url = new URL(request.url)
      url.pathname = '/' + url.pathname.split('/').slice(5).join('/')
      // The SDK's replaceContentsDetailed reads the counts here without asking for verbose (its
      // /files/replace twin does ask); only an explicit verbose=false gets the empty answer.
      if (url.pathname === '/files/replace' && !url.searchParams.has('verbose')) url.searchParams.set('verbose', 'true')
      const headers = new Headers(request.headers)
      if (body !== undefined) headers.delete('content-length')
      const inner = new Request(url, {
        method: request.method,
        headers,
        body: !write ? undefined : body !== undefined ? JSON.stringify(body) : request.body,
        // The client going away stops the operation as on the files section's own routes.
        signal: request.signal,
        // @ts-expect-error Bun streams a request body with duplex 'half' (fetch spec)
        duplex: 'half',
      })
      answeredFor(inner, request)
      sent.set(inner, received)
      // The view's routes answer on this app's server (their downloads watch their answers through it).
      served.server = server
      return current.run(scope, () => served.handle(inner))
    })
  }

  const description =
    "The files section's operation over the session's view. Paths are the session's (absolute, or relative to " +
    "its workspace) and must lie in its workspace; an overlay session's writes land in its overlay; a ro " +
    'workspace refuses writes with 403. During a commit of the session, a request waits for it to end; a commit ' +
    'refuses to begin (400) while a write is in progress.'
  /**
   * What the files section answers, documented: the same statuses as its own route (`statuses`),
   * with 404 for an unknown session and 403 for a write to a ro workspace.
   */
  const detail = (method: string, summary: string, statuses: Record<number, string> = {}, more: object = {}) => ({
    summary,
    description,
    ...more,
    responses: {
      200: { description: 'as the files section answers' },
      ...(statuses === RANGES ? { 206: { description: 'a Range of the file' } } : {}),
      ...errors({
        400: 'an invalid path or parameter',
        404: 'CONTEXT_NOT_FOUND: no session with this id; FILE_NOT_FOUND: no such file',
        ...(READS.has(method) ? undefined : WRITES),
        ...statuses,
      }),
    },
  })
  const params = SessionParams
  /** A route without a JSON body: its query (if any) is validated here, its body left unread. */
  const plain = (
    method: string,
    summary: string,
    query?: TObject,
    statuses?: Record<number, string>,
    check?: (c: Unchecked) => void,
  ) => ({
    params,
    ...(query ? { query } : {}),
    ...(check ? { transform: check } : {}),
    parse: 'none' as const,
    detail: detail(method, summary, statuses),
  })
  /** A route with a JSON body of the files section's schema, checked as that section checks it. */
  const withJson = (
    summary: string,
    body: TSchema,
    more: { query?: TObject; pathMap?: boolean; statuses?: Record<number, string> } = {},
  ) => ({
    params,
    body,
    ...(more.query ? { query: more.query } : {}),
    ...(more.pathMap ? { transform: module.checkPathMap } : {}),
    detail: detail('POST', summary, more.statuses),
  })
  const TOO_MANY = {
    413: 'more entries than the walk lists',
    503: 'the walk ran out of its time budget, or --max-walks walks were walking (shared with the files section)',
  }
  const download = (method: string, summary: string) => ({
    ...plain(method, summary, DownloadQuery, RANGES, CHECKS.lines),
    headers: DownloadHeaders,
  })
  const session = '/session/:sessionId'
  return new Elysia({ name: 'api/isolated-files', prefix: '/v1/isolated', detail: { tags: ['isolated'] } })
    .get(`${session}/files/info`, forward, plain('GET', 'FileInfo of each ?path=, inside the session', InfoQuery))
    .get(
      `${session}/files/download`,
      forward,
      download('GET', 'Download a file from the session (Range, offset/limit)'),
    )
    .head(`${session}/files/download`, forward, download('HEAD', 'Headers of a download from the session'))
    .post(`${session}/files/upload`, forward, {
      params,
      parse: 'none',
      detail: detail(
        'POST',
        'Upload files into the session (multipart, as /files/upload)',
        {
          408: 'slower than the upload minimum rate (connection closed)',
          413: 'larger than the upload limit',
        },
        { requestBody: module.uploadBodyDoc({ description: UPLOAD_PARTS.metadata }, UPLOAD_PARTS.file) },
      ),
    })
    .delete(`${session}/files`, forward, plain('DELETE', 'Delete files in the session', RemoveFilesQuery))
    .post(`${session}/files/mv`, forward, withJson('Move or rename files in the session', module.MoveListSchema))
    .post(
      `${session}/files/permissions`,
      forward,
      withJson('chmod/chown files in the session', module.PermissionMapSchema, { pathMap: true }),
    )
    .post(
      `${session}/files/replace`,
      forward,
      withJson('Replace text in files of the session', module.ReplaceMapSchema, {
        pathMap: true,
        query: ReplaceQuery,
        statuses: { 413: 'the files would grow by more than --max-replace-growth; nothing written' },
      }),
    )
    .get(`${session}/files/search`, forward, plain('GET', 'Find files by glob in the session', SearchQuery, TOO_MANY))
    .get(
      `${session}/directories/list`,
      forward,
      plain('GET', 'List a directory of the session', ListQuery, TOO_MANY, CHECKS.depth),
    )
    .post(
      `${session}/directories`,
      forward,
      withJson('Create directories in the session', module.PermissionMapSchema, { pathMap: true }),
    )
    .delete(`${session}/directories`, forward, plain('DELETE', 'Remove directories in the session', RemoveDirsQuery))
}
