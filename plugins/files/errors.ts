/**
 * Filesystem failures as the reference words them (Go's `op path: strerror`), with the code
 * and status the contract gives each kind: ENOENT → 404 FILE_NOT_FOUND, a wrong kind of path
 * → 400, anything else → 500 RUNTIME_ERROR.
 */
import { ExecdError, PREFIX, type ErrorCode } from '../../core/errors'
import type { RawPath } from './paths'

const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file exists',
  ENOTEMPTY: 'directory not empty',
  EXDEV: 'invalid cross-device link',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  EOPNOTSUPP: 'operation not supported',
  ENXIO: 'no such device or address',
  EFBIG: 'file too large',
}

const CLIENT_ERRNO = new Set(['ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EINVAL', 'EEXIST', 'ENOTEMPTY'])

export const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code

/**
 * `lstat /x: no such file or directory`. Only the errno is worded: the system's own message
 * names the path it was given (expanded, or a /proc/self/fd one), which the client never wrote.
 */
export function osMessage(err: unknown, op: string, path: RawPath): string {
  const code = errnoOf(err)
  const text = code ? (STRERROR[code] ?? `error ${code}`) : ((err as Error)?.message ?? String(err))
  return `${op} ${path}: ${text}`
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
  const status: ErrorCode = code && CLIENT_ERRNO.has(code) ? 'INVALID_REQUEST_BODY' : 'RUNTIME_ERROR'
  return new ExecdError(status, `${context}${message}`, { cause: err })
}

/** Runs a system call and rewords its failure. */
export async function attempt<T>(op: string, path: RawPath, call: () => Promise<T>, context?: string): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw fsError(err, op, path, context)
  }
}
