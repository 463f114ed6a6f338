/**
 * The parameters of an isolated session's files routes, as the official SDK's generated OpenAPI
 * names, types and describes them (@alibaba-group/opensandbox src/api/execd.ts, the
 * `isolated*Files*`/`isolated*Dirs` operations). The routes validate with these before the files
 * section's own route runs: what is documented is what is checked. `path_base64` is ours (a
 * path's exact bytes), taken instead of or beside `path` as the files section takes it. Numbers are
 * strings of digits, as the wire carries them and as the files section parses them: Elysia's
 * coercion of a numeric query is lost in the compiled executable (`offset=0` and `1.5` passed
 * `t.Number({ minimum: 1, multipleOf: 1 })` there, undecoded), and a `t.Integer` query is
 * documented as its coercion union.
 */
import { t } from 'elysia'
import { VERBOSE_PATTERN, VERBOSE_WORDS } from '../../core/verbose-flag'

/** An integer ≥ 1 in decimal digits (leading zeros as the files section takes them). */
const POSITIVE = '^0*[1-9][0-9]*$'

const pathBase64 = t.Optional(
  t.String({ description: "the path's exact bytes, standard base64 (as `path_base64` lists them); instead of path" }),
)
const manyBase64 = t.Optional(
  t.Array(t.String(), { description: "repeatable, with or instead of path: a path's exact bytes, standard base64" }),
)
/** A path that `path_base64` may give instead: optional here, the operation requires one of them. */
const onePath = (description: string) => t.Optional(t.String({ description }))
const manyPaths = (description: string) => t.Optional(t.Array(t.String(), { description }))

export const InfoQuery = t.Object({
  path: manyPaths('File path(s) to get info for (can be specified multiple times); with or instead of path_base64'),
  path_base64: manyBase64,
  missing: t.Optional(
    t.Literal('omit', { description: 'omit: paths that do not exist are left out, as on /files/info' }),
  ),
})

export const DownloadQuery = t.Object({
  path: onePath('file to download (this or path_base64 is required)'),
  path_base64: pathBase64,
  offset: t.Optional(
    t.String({
      pattern: POSITIVE,
      description: 'Starting line number (1-based) for line-based reading. Mutually exclusive with Range header.',
    }),
  ),
  limit: t.Optional(
    t.String({
      pattern: POSITIVE,
      description: 'Number of lines to return for line-based reading. Mutually exclusive with Range header.',
    }),
  ),
})

export const DownloadHeaders = t.Object({
  range: t.Optional(
    t.String({ description: 'HTTP Range header for partial content requests. Mutually exclusive with offset/limit.' }),
  ),
})

export const RemoveFilesQuery = t.Object({
  path: manyPaths('File path(s) to delete (can be specified multiple times); with or instead of path_base64'),
  path_base64: manyBase64,
})

export const ReplaceQuery = t.Object({
  verbose: t.Optional(
    t.String({
      description:
        'When true, return per-file replacement counts; true unless given (the SDK reads them without asking), ' +
        `read as /files/replace reads it: ${VERBOSE_WORDS}`,
      pattern: VERBOSE_PATTERN,
    }),
  ),
})

export const SearchQuery = t.Object({
  path: onePath(
    'Root directory path to search in, or a file: its answer is that file if its name matches (this or path_base64 is required)',
  ),
  path_base64: pathBase64,
  pattern: t.Optional(t.String({ description: 'Glob pattern to match files (default is **)' })),
})

export const ListQuery = t.Object({
  path: onePath('Directory path to list (this or path_base64 is required)'),
  path_base64: pathBase64,
  depth: t.Optional(t.String({ pattern: '^[0-9]+$', description: 'Maximum depth to traverse (default 1)' })),
})

export const RemoveDirsQuery = t.Object({
  path: manyPaths('Directory path(s) to delete (can be specified multiple times); with or instead of path_base64'),
  path_base64: manyBase64,
})

/** The upload's parts, described as the SDK does. */
export const UPLOAD_PARTS = {
  metadata:
    'JSON-encoded file metadata: {"path" or "path_base64","mode"?,"owner"?,"group"?}; as a file part ' +
    '(filename="metadata") or a plain field',
  file: 'File to upload; follows its metadata part',
}
