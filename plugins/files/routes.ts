/** The HTTP face of the files section: validate, call the operation, render. */
import { Elysia, t } from 'elysia'
import { ExecdError, PREFIX, badRequest, emptyOk, errorResponse, json, missingQuery } from '../../core/errors'
import { isPlainObject } from '../../core/events'
import { jsonArrayOf } from '../../core/json-array'
import { errorSchemas, errors } from '../../core/responses'
import type { Peers } from '../../core/answering'
import { watchClient } from '../../core/client-gone'
import type { Downloads } from '../../core/downloads'
import { askedOf } from '../../core/mount'
import type { FilesOps } from './files-ops'
import { parseDepth, type Listing } from './ops/list'
import { bytePathOf, type RawPath } from '../../core/beneath/path-scope'
import {
  DownloadQuery,
  FileInfoListSchema,
  FileInfoMapSchema,
  MoveListSchema,
  InfoQuery,
  ListQuery,
  PathsQuery,
  PermissionMapSchema,
  ReplaceCountsSchema,
  ReplaceMapSchema,
  ReplaceQuery,
  SearchQuery,
  UploadBodyDoc,
  uploadBodyDoc,
} from './schema'
import { verboseFlag } from '../../core/verbose-flag'

/** The JSON bodies' schemas, for a section that serves these routes over another view (isolated). */
export { MoveListSchema, PermissionMapSchema, ReplaceMapSchema, uploadBodyDoc }

/**
 * Every path of a repeatable query, in order, as sent (Elysia would split values on commas):
 * `?path=` as text, `?path_base64=` as exact bytes, mixed freely.
 */
function pathsOf(request: Request): RawPath[] {
  const out: RawPath[] = []
  for (const [key, value] of new URL(request.url).searchParams) {
    if (key === 'path') out.push(value)
    else if (key === 'path_base64') out.push(bytePathOf(value))
  }
  return out
}

/** The one path of a route: `?path=` or `?path_base64=`, exactly one of them. */
function requiredPath(request: Request): RawPath {
  const query = new URL(request.url).searchParams
  const path = query.get('path')
  const bytes = query.get('path_base64')
  if (path !== null && bytes !== null) throw badRequest("give either 'path' or 'path_base64', not both")
  if (bytes !== null) return bytePathOf(bytes)
  if (!path) throw missingQuery('path')
  return path
}

/**
 * Checks a `{"<path>": {...}}` body before validation (Elysia's transform hook sees the raw
 * JSON): validation would quietly turn `[{}]` into `{"0": {}}` and `1` into `{}`.
 */
export function checkPathMap({ body }: { body: unknown }): void {
  if (body === undefined || body === null || body === '') throw badRequest(`${PREFIX.parse}EOF`)
  if (!isPlainObject(body)) throw badRequest(`${PREFIX.validation}expected an object keyed by path`)
  for (const [path, entry] of Object.entries(body)) {
    if (!isPlainObject(entry)) throw badRequest(`${PREFIX.validation}${path}: expected an object`)
  }
  // The validator builds the map anew by assignment, where this key sets the prototype: the
  // entry vanished and the answer was a 200 for a file never changed.
  if (Object.hasOwn(body, '__proto__')) {
    throw badRequest(`${PREFIX.validation}the path "__proto__" cannot be a key here: write it "./__proto__"`)
  }
}

const NO_CONTENT = { 200: { description: 'success, empty body (Content-Length: 0)' } }
/** The failures every path-taking route can give: a bad or confined path, a missing file. */
const PATH_ERRORS = {
  400: 'invalid path (empty, outside --root, not valid base64)',
  403: "FORBIDDEN: execd's user may not read or write there (permission denied, read-only filesystem)",
  404: 'no such file or directory',
}
/** A walk's 503s: its budget, or the cap on walks at once and its line. */
const WALK_UNAVAILABLE =
  'the walk ran out of its time budget (30 s), or --max-walks walks were walking and none came free in time'
/** A tree write's 503: the cap on tree writes at once and its line; nothing of that item was written. */
const TREE_WRITE_UNAVAILABLE =
  '--max-tree-writes removals or moves to another filesystem were writing and none came free in time; nothing of that item was written (a batch of moves: the message says how many of its first items were moved)'
/** NO_CONTENT and those failures, plus any of the route's own. */
const doneOr = (more: Record<number, string> = {}) => ({ ...NO_CONTENT, ...errors({ ...PATH_ERRORS, ...more }) })

/** `downloads`: where the app names its bodies still being sent (core/downloads.ts). */
export function filesRoutes(ops: FilesOps, downloads: Downloads) {
  /** What a request waiting for a walk's or a tree write's slot is named in a refusal. */
  const kindOf = (request: Request) => `${request.method} ${new URL(request.url).pathname}`
  /**
   * A search's or listing's answer, in a --max-walks slot until it is sent (files-ops.ts), under
   * the stall rule meanwhile (core/send-stall.ts): a client that takes nothing gives the slot back
   * to a walk waiting for one.
   */
  const walked = async (listing: Promise<Listing>, answer: { request: Request; server: Peers | null }) => {
    const { entries, info, close } = await listing
    const unguard = downloads.guard(answer, kindOf(answer.request), 'a --max-walks slot', ops.walks)
    return jsonArrayOf(entries, info, () => close().finally(unguard))
  }
  const download = ({
    request,
    query,
    server,
  }: {
    request: Request
    query: Record<string, string | undefined>
    server: Peers | null
  }) => {
    // A HEAD comes to the GET route (core/mount.ts): the one asked is answered.
    const asked = askedOf(request)
    return ops.download({
      path: requiredPath(asked),
      method: asked.method,
      range: asked.headers.get('range'),
      ifModifiedSince: asked.headers.get('if-modified-since'),
      offset: query.offset,
      limit: query.limit,
      answer: { request: asked, server },
      downloads,
    })
  }
  const downloadDetail = (summary: string) => ({
    summary,
    description:
      'Streams the file with Content-Length, Content-Disposition, Accept-Ranges and Last-Modified. ' +
      'A single Range → 206 + Content-Range; several → 200, the whole file (RFC 9110 lets Range be ignored); ' +
      'unsatisfiable → 416 RANGE_NOT_SATISFIABLE. ' +
      'offset/limit → those lines as text/plain.',
    responses: {
      200: {
        description: 'the file',
        content: { 'application/octet-stream': { schema: { type: 'string' as const, format: 'binary' } } },
      },
      206: { description: 'the requested byte range' },
      ...errors({
        ...PATH_ERRORS,
        400: 'invalid path, or a directory',
        413: 'a kernel pseudo-file (procfs, sysfs) holding more than 16 MiB',
        416: 'range not satisfiable (Content-Range: bytes */size)',
      }),
    },
  })

  return new Elysia({ name: 'api/files', detail: { tags: ['files'] } })
    .get(
      '/files/info',
      async ({ request, query }) => json(await ops.info(pathsOf(request), { omitMissing: query.missing === 'omit' })),
      {
        query: InfoQuery,
        response: { 200: FileInfoMapSchema, ...errorSchemas(PATH_ERRORS) },
        detail: { summary: 'FileInfo of each ?path= (lstat), keyed by the path as sent' },
      },
    )
    .delete('/files', async ({ request }) => (await ops.remove(pathsOf(request)), emptyOk()), {
      query: PathsQuery,
      detail: {
        summary: 'Delete files and symlinks (missing ones are skipped; directories refused)',
        description: 'A file with a mount on it (a bind-mounted file) is kept: 400 naming it.',
        responses: doneOr({ 400: 'invalid path, a directory, or a mount point' }),
      },
    })
    .post('/files/permissions', async ({ body }) => (await ops.chmod(body), emptyOk()), {
      body: PermissionMapSchema,
      transform: checkPathMap,
      detail: {
        summary: 'chmod/chown per path; owner and group change only when given',
        responses: doneOr(),
      },
    })
    .post(
      '/files/mv',
      async ({ body, request }) => (await ops.move(body, request.signal, kindOf(request)), emptyOk()),
      {
        body: MoveListSchema,
        detail: {
          summary: "Move/rename; creates the destination's parents, never overwrites",
          description:
            'A directory holding mounts is renamed with them on the same filesystem; a mount point itself ' +
            '(a volume, a bind-mounted file or directory) is not moved, nor is a tree holding one moved to ' +
            'another filesystem (that would be a copy, then a removal): 400 naming the mount point, the ' +
            'source as it was and nothing at the destination.',
          responses: doneOr({
            400: 'invalid path, a destination taken, a move into itself, or a mount point',
            503: TREE_WRITE_UNAVAILABLE,
          }),
        },
      },
    )
    .get(
      '/files/search',
      ({ request, query, server }) => {
        // Bad input is told at once, not after a wait for a slot.
        const listing = ops.search(requiredPath(request), query.pattern, kindOf(request), request.signal)
        return walked(listing, { request, server })
      },
      {
        query: SearchQuery,
        response: {
          200: FileInfoListSchema,
          ...errorSchemas({
            ...PATH_ERRORS,
            400: 'invalid path or pattern',
            413: 'more entries than one answer holds',
            503: WALK_UNAVAILABLE,
          }),
        },
        detail: { summary: 'Find files by glob (**, *, ?, [...], {a,b}) under a directory' },
      },
    )
    .post(
      '/files/replace',
      async ({ body, query, request }) => {
        // Read before any file is written: a bad value is refused with nothing changed.
        const verbose = verboseFlag(query.verbose, false)
        const counts = await ops.replace(body, request.signal)
        return verbose ? json(counts) : emptyOk()
      },
      {
        body: ReplaceMapSchema,
        transform: checkPathMap,
        query: ReplaceQuery,
        response: {
          200: t.Union([ReplaceCountsSchema, t.Null()]),
          ...errorSchemas({
            ...PATH_ERRORS,
            400: `${PATH_ERRORS[400]}; not a regular file, or one another writer changed or removed while it was rewritten (left as it is now)`,
            413: 'the files would grow by more than --max-replace-growth; nothing written',
          }),
        },
        detail: { summary: 'Replace text in files, each rewritten atomically (mode and owner kept)' },
      },
    )
    .post(
      '/files/upload',
      async ({ request, server }) => {
        const declared = Number(request.headers.get('content-length') ?? 'NaN')
        if (declared > ops.maxUploadBytes) {
          throw new ExecdError(
            'PAYLOAD_TOO_LARGE',
            `upload of ${declared} bytes exceeds the limit of ${ops.maxUploadBytes} bytes`,
          )
        }
        const client = watchClient({ request, server })
        try {
          const type = request.headers.get('content-type')
          await ops.upload(request.body, type, client.signal)
        } catch (err) {
          // The rest of the body is never read: the connection cannot carry another request.
          if (!(err instanceof ExecdError) || err.code !== 'REQUEST_TIMEOUT') throw err
          const res = errorResponse(err)
          res.headers.set('connection', 'close')
          return res
        } finally {
          client.stop()
        }
        return emptyOk()
      },
      {
        // The body is streamed to disk by the handler: Elysia must not read it first.
        parse: 'none',
        detail: {
          summary: 'Upload files: metadata + file part pairs, streamed to disk and renamed into place',
          requestBody: UploadBodyDoc,
          responses: doneOr({
            400: 'invalid multipart body or metadata',
            408: 'the body arrived slower than --upload-min-rate (connection closed)',
            413: 'larger than --max-upload-bytes',
          }),
        },
      },
    )
    .get('/files/download', download, {
      query: DownloadQuery,
      detail: downloadDetail('Download a file (Range, offset/limit)'),
    })
    .head('/files/download', download, {
      query: DownloadQuery,
      detail: downloadDetail('Headers of a download, no body'),
    })
    .get(
      '/directories/list',
      ({ request, query, server }) => {
        const [path, depth] = [requiredPath(request), parseDepth(query.depth)]
        return walked(ops.list(path, depth, kindOf(request), request.signal), { request, server })
      },
      {
        query: ListQuery,
        response: {
          200: FileInfoListSchema,
          ...errorSchemas({ ...PATH_ERRORS, 413: 'more entries than one answer holds', 503: WALK_UNAVAILABLE }),
        },
        detail: {
          tags: ['directories'],
          summary: 'List a directory depth-first, sorted by name; symlinks not followed',
        },
      },
    )
    .post('/directories', async ({ body }) => (await ops.mkdir(body), emptyOk()), {
      body: PermissionMapSchema,
      transform: checkPathMap,
      detail: {
        tags: ['directories'],
        summary: 'mkdir -p per path, then mode/owner of the leaf when given',
        responses: doneOr(),
      },
    })
    .delete(
      '/directories',
      async ({ request }) => (
        await ops.removeDirectories(pathsOf(request), kindOf(request), request.signal),
        emptyOk()
      ),
      {
        query: PathsQuery,
        detail: {
          tags: ['directories'],
          summary: 'rm -rf per ?path= (missing ones are fine)',
          description:
            'Never crosses into another mount (a volume, a bind mount): a mount point inside the tree, or the ' +
            'path itself if it is one, is kept whole with the directories above it, everything else is removed, ' +
            'and the answer is 400 naming each mount point kept.',
          responses: doneOr({
            400: 'invalid path, /, the --root itself, or a mount point kept',
            503: TREE_WRITE_UNAVAILABLE,
          }),
        },
      },
    )
}
