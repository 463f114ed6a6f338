/** TypeBox models of the files section's wire (CONTRACT §5): they validate and document. */
import { t } from 'elysia'
import { VERBOSE_PATTERN, VERBOSE_WORDS } from '../../core/verbose-flag'

const pathBase64Field = t.String({
  description: "the path's exact bytes, standard base64, as path_base64 lists them: names the path instead of the key",
})

const mode = t.Integer({
  minimum: 0,
  description:
    'permission bits as octal digits written in decimal: 755 means 0o755; 0 leaves the mode as it is; ' +
    'setuid, setgid and sticky (a fourth digit: 4755) are dropped, as the reference does',
  examples: [755, 644],
})

export const FileInfoSchema = t.Object(
  {
    path: t.String({ description: 'absolute path; bytes that are not UTF-8 are written \\xHH' }),
    path_base64: t.Optional(
      t.String({
        description:
          "the path's exact bytes, standard base64; only when they are not UTF-8. Send it back as " +
          'path_base64 (query) or a path_base64 field (JSON bodies) to name the same file',
      }),
    ),
    type: t.Union([t.Literal('file'), t.Literal('directory'), t.Literal('symlink'), t.Literal('other')], {
      description: 'from lstat: symlinks are reported, never followed',
    }),
    size: t.Number({ description: 'bytes (lstat size)' }),
    modified_at: t.String({ description: 'mtime, RFC 3339 with nanoseconds' }),
    created_at: t.String({ description: 'inode change time (ctime), as the reference reports it' }),
    owner: t.String({ description: 'user name, or the uid when it has none' }),
    group: t.String({ description: 'group name, or the gid when it has none' }),
    mode,
  },
  { title: 'FileInfo' },
)

const PermissionSchema = t.Object(
  {
    mode: t.Optional(mode),
    owner: t.Optional(t.String({ description: 'user name or numeric uid; unchanged when absent' })),
    group: t.Optional(t.String({ description: 'group name or numeric gid; unchanged when absent' })),
    path_base64: t.Optional(pathBase64Field),
  },
  { title: 'Permission' },
)

export const PermissionMapSchema = t.Record(t.String(), PermissionSchema, {
  description: 'path → permission',
})

const bytesInstead = (of: string) =>
  t.Optional(t.String({ description: `${of} as its exact bytes, standard base64; instead of ${of}` }))

export const MoveListSchema = t.Array(
  t.Object(
    {
      src: t.Optional(t.String({ minLength: 1, description: 'required unless src_base64 is given' })),
      dest: t.Optional(t.String({ minLength: 1, description: 'required unless dest_base64 is given' })),
      src_base64: bytesInstead('src'),
      dest_base64: bytesInstead('dest'),
    },
    { title: 'RenameFileItem' },
  ),
)

export const ReplaceMapSchema = t.Record(
  t.String(),
  t.Object(
    {
      old: t.String({ description: 'text to find (not empty)' }),
      new: t.String(),
      path_base64: t.Optional(pathBase64Field),
    },
    { title: 'ReplaceFileContentItem' },
  ),
  { description: 'path → replacement' },
)

export const ReplaceCountsSchema = t.Record(t.String(), t.Object({ replacedCount: t.Integer() }), {
  description: 'with verbose=true: path → number of replacements',
})

/** `verbose` of a replace (core/verbose-flag.ts), as both replace routes take it. */
export const verboseQuery = (description: string) =>
  t.Optional(t.String({ description: `${description}: ${VERBOSE_WORDS}`, pattern: VERBOSE_PATTERN }))

export const PathsQuery = t.Object({
  path: t.Optional(t.Array(t.String(), { description: 'repeatable: ?path=a&path=b' })),
  path_base64: t.Optional(
    t.Array(t.String(), { description: "repeatable, with or instead of path: a path's exact bytes, standard base64" }),
  ),
})

/** The one path of a route, as exact bytes: given instead of `path`. */
const pathBase64 = t.Optional(
  t.String({ description: "the path's exact bytes, standard base64 (as `path_base64` lists them); instead of path" }),
)

export const DownloadQuery = t.Object({
  path: t.Optional(t.String({ description: 'file to download (this or path_base64 is required)' })),
  path_base64: pathBase64,
  offset: t.Optional(t.String({ description: 'line-based read: first line, 1-based (excludes Range)' })),
  limit: t.Optional(t.String({ description: 'line-based read: number of lines' })),
})

export const SearchQuery = t.Object({
  path: t.Optional(
    t.String({
      description:
        'directory to search under, or a file: its answer is that file if its name matches (this or path_base64 is required)',
    }),
  ),
  path_base64: pathBase64,
  pattern: t.Optional(
    t.String({ description: 'glob (default **); without / it matches base names, with / the relative path' }),
  ),
})

export const ReplaceQuery = t.Object({ verbose: verboseQuery('answer the count per file') })

export const ListQuery = t.Object({
  path: t.Optional(t.String({ description: 'directory to list (this or path_base64 is required)' })),
  path_base64: pathBase64,
  depth: t.Optional(t.String({ description: 'levels to descend (default 1; 0 → [])' })),
})

/** `GET /files/info`'s own: paths that do not exist left out, for a client asking about many. */
const MissingQuery = t.Optional(
  t.Literal('omit', {
    description:
      "omit: a path that does not exist (ENOENT) is left out of the answer, where the first one is a 404 (execd's own; one request for many paths). Only missing paths are left out: a path failing otherwise (denied 403, a symlink loop, a name too long or a file as a directory 400) still fails the request with its own code and message naming it",
  }),
)

export const InfoQuery = t.Object({ ...PathsQuery.properties, missing: MissingQuery })

/** The multipart upload's documentation: a metadata part (its schema's `description` and more), then a file part. */
export const uploadBodyDoc = (metadata: { description: string; format?: 'binary' }, file: string) => ({
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object' as const,
        properties: {
          metadata: { type: 'string' as const, ...metadata },
          file: { type: 'string' as const, format: 'binary' as const, description: file },
        },
      },
    },
  },
})

export const UploadBodyDoc = uploadBodyDoc(
  {
    format: 'binary',
    description:
      'JSON {"path" or "path_base64" (exact bytes, base64),"mode"?,"owner"?,"group"?}; as a file part (filename="metadata") or a plain field',
  },
  "the file's bytes; follows its metadata part",
)

export const FileInfoMapSchema = t.Record(t.String(), FileInfoSchema)
export const FileInfoListSchema = t.Array(FileInfoSchema)
