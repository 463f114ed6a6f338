/**
 * Filesystem failures as the reference words them (Go's `op path: strerror`), with the code
 * and status the contract gives each kind: ENOENT → 404 FILE_NOT_FOUND, a wrong kind of path
 * → 400, a path execd's user may not read or write → 403 FORBIDDEN, anything else → 500
 * RUNTIME_ERROR.
 */
import { ExecdError, PREFIX, errnoOf, errnoText, type ErrorCode } from '../../core/errors'
import type { RawPath } from '../../core/beneath/path-scope'

const CLIENT_ERRNO = new Set(['ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EINVAL', 'EEXIST', 'ENOTEMPTY'])
/**
 * The path the client named is out of bounds for execd's user: a directory it may not write,
 * a file it may not read, a read-only filesystem. The reference answers 500 RUNTIME_ERROR, as for
 * a failure of its own, so a client could not tell "retry" from "change the request"; a 403, as
 * an isolated session's read-only workspace answers. EPERM stays a 500: it is also execd's own
 * want of a capability (a chown to keep a file's owner) the client did not ask for.
 */
const DENIED_ERRNO = new Set(['EACCES', 'EROFS'])

/**
 * `lstat /x: no such file or directory`. Only the errno is worded: the system's own message
 * names the path it was given (expanded, or a /proc/self/fd one), which the client never wrote.
 */
export function osMessage(err: unknown, op: string, path: RawPath): string {
  return `${op} ${path}: ${errnoText(err)}`
}

/**
 * Wraps a failed system call. `context` is the reference's prefix for non-ENOENT failures
 * (e.g. 'error accessing file: '); ENOENT always gets 'file not found. '.
 */
export function fsError(err: unknown, op: string, path: RawPath, context = 'error accessing file: '): ExecdError {
  if (err instanceof ExecdError) return err
  const code = errnoOf(err)
  const message = osMessage(err, op, path)
  if (code === 'ENOENT') return new ExecdError('FILE_NOT_FOUND', `${PREFIX.notFound}${message}`, { cause: err })
  const status: ErrorCode =
    code && CLIENT_ERRNO.has(code)
      ? 'INVALID_REQUEST_BODY'
      : code && DENIED_ERRNO.has(code)
        ? 'FORBIDDEN'
        : 'RUNTIME_ERROR'
  return new ExecdError(status, `${context}${message}`, { cause: err })
}
