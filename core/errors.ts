/**
 * The one place where error codes meet HTTP statuses (CONTRACT §1) and CLI exit codes.
 * Plugins throw `ExecdError`; the app and the CLI render it.
 */
import { cgroupDirs } from './cgroup-dirs'
import type { Held } from './held-slots'

const STATUS = {
  INVALID_REQUEST_BODY: 400,
  MISSING_QUERY: 400,
  INVALID_FILE: 400,
  INVALID_FILE_CONTENT: 400,
  INVALID_FILE_METADATA: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  FILE_NOT_FOUND: 404,
  CONTEXT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  ALREADY_CONNECTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  HEADERS_TOO_LARGE: 431,
  RUNTIME_ERROR: 500,
  NOT_SUPPORTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof STATUS

/** Message prefixes of the reference daemon: SDKs show them to users verbatim. */
export const PREFIX = {
  parse: 'error parsing request, MAYBE invalid body format. ',
  validation: 'invalid request, validation error ',
  notFound: 'file not found. ',
  metrics: 'error reading runtime metrics. ',
} as const

export class ExecdError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions & { headers?: Record<string, string>; held?: () => Held },
  ) {
    super(message, options)
    this.headers = options?.headers
    this.held = options?.held
  }
  readonly headers?: Record<string, string>
  /** A refusal at a pool's limit: who holds the pool, for its log line only (never the wire). */
  readonly held?: () => Held
  get status(): number {
    return STATUS[this.code]
  }
}

export const statusOf = (code: ErrorCode): number => STATUS[code]

/**
 * Every code a `{code, message}` body can carry, in status order: the OpenAPI's `Error.code` and
 * docs/contract.md's list are checked against it (spec/error-codes.test.ts). UNAUTHORIZED is the
 * CLI's name for a 401, whose body is the reference's `{"error": …}`, never a code.
 */
export const WIRE_CODES = (Object.keys(STATUS) as ErrorCode[]).filter(code => code !== 'UNAUTHORIZED')

export const badRequest = (message: string) => new ExecdError('INVALID_REQUEST_BODY', message)
export const missingQuery = (name: string) => new ExecdError('MISSING_QUERY', `missing query parameter '${name}'`)

/**
 * The refusal of work that the shutdown cut off or came too late for (a context still starting,
 * a session being made): a 503, as a full limit is, since a client may retry on the next execd.
 */
export const shuttingDown = (cause?: unknown) =>
  new ExecdError('SERVICE_UNAVAILABLE', 'execd is shutting down', cause === undefined ? undefined : { cause })

/** The process's limit on open files (RLIMIT_NOFILE), once known: read before it is needed. */
let openFilesLimit = 0

/**
 * Notes the limit the message of a refusal for want of fds names. Read ahead of time
 * (core/limits.ts): when it is needed, reading /proc/self/limits needs the fd there is not.
 */
export function knowOpenFilesLimit(n: number): void {
  openFilesLimit = n
}

/**
 * A failure for want of a file descriptor (EMFILE, ENFILE) or of a process (a spawn's EAGAIN), as
 * the 503 of a full limit: its cause is load (idle connections, other work, other processes)
 * that passes, so the client may retry, and an operator needs the limit named rather than a 500
 * with the daemon's own paths in it (a session's script in execd's temp dir, a /proc/self/fd
 * path). Errors that sections made of one (files' fsError keeps the errno as its cause) are
 * recognised by that cause, so every route answers alike.
 */
export function limitReached(err: unknown): ExecdError | undefined {
  // A section's error names its own code (a 4xx stays the client's); an unknown failure's
  // causes are followed, as wrappers (could not start the interpreter: …) keep them.
  let cause = err
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    if (cause instanceof ExecdError && cause.code !== 'RUNTIME_ERROR') return undefined
    const code = cause instanceof ExecdError ? undefined : errnoOf(cause)
    if (code === 'EMFILE' || code === 'ENFILE') return fdsExhausted(code, err)
    // A spawn at the limit of processes is the same kind of refusal (core/threads.ts).
    if (code === 'EAGAIN' && /spawn|fork/.test(String((cause as NodeJS.ErrnoException).syscall))) {
      return processesExhausted(err)
    }
    cause = cause.cause
  }
  return undefined
}

/** The 503 of a full fd table: execd's own (EMFILE) or the system's (ENFILE). */
function fdsExhausted(code: 'EMFILE' | 'ENFILE', cause?: unknown): ExecdError {
  if (code === 'ENFILE') {
    return new ExecdError(
      'SERVICE_UNAVAILABLE',
      "limit reached: the system's table of open files is full (ENFILE, fs.file-max); retry once other work closes some",
      { cause },
    )
  }
  const all = openFilesLimit > 0 ? `all ${openFilesLimit}` : 'all the'
  return new ExecdError(
    'SERVICE_UNAVAILABLE',
    `limit reached: execd has ${all} file descriptors it may open in use (EMFILE, RLIMIT_NOFILE); ` +
      'retry once connections or other work close, or raise the limit (ulimit -n, docker run --ulimit nofile=)',
    { cause },
  )
}

/** The failure of opening `n` descriptors now (EMFILE, ENFILE), or undefined when they can be. */
function fdShortage(n: number): unknown {
  // Loaded on a failure's path only, as pidsFigures below: not at every start.
  const fs = require('node:fs') as typeof import('node:fs')
  const fds: number[] = []
  try {
    while (fds.length < n) fds.push(fs.openSync('/dev/null', 'r'))
    return undefined
  } catch (err) {
    return err
  } finally {
    for (const fd of fds) fs.closeSync(fd)
  }
}

/**
 * Bun's failures that name no errno ("Failed to open PTY", "Failed to listen at …"): when no
 * descriptor can be opened now, the error gets that failure as its cause, so the refusal is the
 * 503 of a full fd table (limitReached) rather than a 500 that does not say why.
 */
export function withFdErrno(err: unknown): unknown {
  if (errnoOf(err)) return err
  const probe = fdShortage(1)
  if (!probe) return err
  return new Error(`${(err as Error)?.message ?? String(err)} (${(probe as Error).message})`, { cause: probe })
}

/**
 * The 503 of a full fd table, thrown before a start that needs `n` descriptors and cannot be
 * answered with a status once under way (a terminal, whose start follows the WebSocket upgrade).
 */
export function requireFds(n: number): void {
  const probe = fdShortage(n)
  if (probe) throw limitReached(probe) ?? probe
}

/**
 * The 503 of a spawn refused with EAGAIN: the processes and threads execd and its children may
 * have are all in use (a pids cgroup's `pids.max`, RLIMIT_NPROC, kernel.threads-max). The
 * message names the pids cgroup's figures when they can be read (only here, on a refusal).
 */
function processesExhausted(cause?: unknown): ExecdError {
  const pids = pidsFigures()
  const figures = pids ? `: ${pids.current} of pids.max ${pids.max} in use` : ''
  return new ExecdError(
    'SERVICE_UNAVAILABLE',
    `limit reached: no process can be started (EAGAIN, the pids cgroup's limit${figures}, or RLIMIT_NPROC); ` +
      'retry once other processes end, or raise the limit (docker run --pids-limit=)',
    { cause },
  )
}

/** pids.current and pids.max of execd's pids cgroup (core/cgroup-dirs.ts). */
function pidsFigures(): { current: string; max: string } | undefined {
  try {
    const fs = require('node:fs') as typeof import('node:fs')
    for (const { dir } of cgroupDirs(fs.readFileSync('/proc/self/cgroup', 'latin1'), 'pids')) {
      try {
        const max = fs.readFileSync(`${dir}/pids.max`, 'latin1').trim()
        const current = fs.readFileSync(`${dir}/pids.current`, 'latin1').trim()
        return { current, max }
      } catch {}
    }
  } catch {}
  return undefined
}

/** Maps an errno-style error from node:fs to our code, keeping the OS message. */
function fromErrno(err: unknown, prefix = ''): ExecdError {
  if (err instanceof ExecdError) return err
  const e = err as NodeJS.ErrnoException
  const text = `${prefix}${e?.message ?? String(err)}`
  switch (e?.code) {
    case 'ENOENT':
      return new ExecdError('FILE_NOT_FOUND', `${PREFIX.notFound}${text}`, { cause: err })
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new ExecdError('INVALID_REQUEST_BODY', text, { cause: err })
    default:
      return new ExecdError('RUNTIME_ERROR', text, { cause: err })
  }
}

/** Anything thrown, as an ExecdError (unknown failures are RUNTIME_ERROR). */
export function toExecdError(err: unknown): ExecdError {
  const full = limitReached(err)
  if (full) return full
  if (err instanceof ExecdError) return err
  const said =
    err && typeof err === 'object' && 'code' in err && typeof (err as any).code === 'string'
      ? fromErrno(err)
      : new ExecdError('RUNTIME_ERROR', err instanceof Error ? err.message : String(err), { cause: err })
  if (said.status !== 500) return said
  // A failure that names no full fd table while the table is full (Bun's "Failed to …", a step
  // that failed for want of a descriptor another step took): the 503 that says why, not a 500.
  // A session started at the limit answered 500 once in a loaded CI (spec/machine-runs-out).
  const probe = fdShortage(1)
  return (probe === undefined ? undefined : limitReached(new Error(said.message, { cause: probe }))) ?? said
}

/** The JSON error response of CONTRACT §1. */
export function errorResponse(err: ExecdError): Response {
  err = limitReached(err) ?? err
  return new Response(JSON.stringify({ code: err.code, message: err.message }), {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...err.headers },
  })
}

/** A success with nothing to return: 200 with Content-Length: 0 (the TS SDK needs it). */
export const emptyOk = (): Response => new Response(null, { status: 200 })

/** JSON success response, compact like the reference. */
export const json = (value: unknown, status = 200, headers?: Record<string, string>): Response =>
  new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  })

/** Go's strerror words for the errnos a path operation meets (the reference prints them). */
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
  EIO: 'input/output error',
  EDQUOT: 'disk quota exceeded',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  EOPNOTSUPP: 'operation not supported',
  ENXIO: 'no such device or address',
  EFBIG: 'file too large',
}

/**
 * `text` for a message, cut to `max` characters with an ellipsis: a client's value may be any
 * size. Never between the halves of a surrogate pair: half a character is a lone surrogate in
 * the JSON, which serde_json refuses and Go's decoder turns into U+FFFD.
 */
export const clip = (text: string, max: number): string => {
  if (text.length <= max) return text
  const last = text.charCodeAt(max - 1)
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max
  return `${text.slice(0, end)}…`
}

export const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code

/**
 * A system call's failure in words, from its errno alone: the runtime's own message repeats
 * the path it was given (expanded, or a /proc/self/fd one), which the client never wrote and
 * which may hold the daemon's environment.
 */
export function errnoText(err: unknown): string {
  const code = errnoOf(err)
  return code ? (STRERROR[code] ?? `error ${code}`) : ((err as Error)?.message ?? String(err))
}
