/**
 * How a verb's failure reaches a person: one plain line on stderr (`execd: <what is wrong>`)
 * and an exit code — 2 when the command line cannot be run as typed, whatever is on the disk
 * (an unknown verb, flag or language, a missing argument, a malformed value: said before any
 * work), 1 when the work was tried and failed: a file missing, a symlink loop, a path through a
 * file, a name too long, the tree in the way. A 400 is either (the wire has one status for both),
 * so the status alone never decides: the CLI checks what was typed itself, and whatever the
 * section or daemon refuses after that is the thing's fault. `--json` keeps `{code, message}`.
 * Remote mode rebuilds the daemon's `{code, message}` as an ExecdError, so both modes end alike.
 */
import { ConfigError } from '../core/config'
import { ExecdError, PREFIX, errnoOf, errnoText, toExecdError, type ErrorCode } from '../core/errors'
import { STDOUT_CLOSED } from './closed-stdout'
import { ownLine } from './paced-output'
import { visible } from './visible'

const USAGE_EXIT = 2

const REMOVED_CWD = 'the current directory has been removed (cd to one that exists)'

/**
 * Something the person typed is wrong: exit 2, one line. `wireCode`: what `--json` says, the wire's
 * when a daemon refuses the same input so (`fs ls -d x`: INVALID_REQUEST_BODY), else USAGE.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly wireCode?: ErrorCode,
  ) {
    super(message)
  }
}

/** A failure that has a shell's status of its own: a command not there (127) or not runnable (126). */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/**
 * Runs a section's own check of what was typed (the one its route makes): its refusal is a
 * usage error with the same words and code, found before anything is asked or touched.
 */
export function typedCheck<T>(check: () => T): T {
  try {
    return check()
  } catch (err) {
    if (err instanceof ExecdError) throw new UsageError(plainMessage(err), err.code)
    throw err
  }
}

/** The exit code for a failure: 2 for what was typed wrong, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError || (err as Error)?.name === 'CACError') return USAGE_EXIT
  if (err instanceof StatusError) return err.status
  return 1
}

/** The message without the reference daemon's HTTP-flavoured prefixes (kept on the wire and in --json). */
export function plainMessage(err: unknown): string {
  if (err instanceof ExecdError) {
    let text = err.message
    for (const prefix of Object.values(PREFIX)) if (text.startsWith(prefix)) text = text.slice(prefix.length)
    return text
  }
  const e = err as NodeJS.ErrnoException & { path?: string; syscall?: string }
  // The CLI writes to no fd it did not open but stdout: a closed one (cmd/closed-stdout.ts).
  if (errnoOf(err) === 'EBADF' && e.syscall === 'write') return STDOUT_CLOSED
  // getcwd(3) in a directory removed under the shell: Bun's words name libuv and guess.
  if (errnoOf(err) === 'ENOENT' && e.syscall === 'uv_cwd') return REMOVED_CWD
  // A system call's failure (a local file that cannot be read): the path as typed, Go's words.
  if (errnoOf(err) && e.path) return `${e.path}: ${errnoText(err)}`
  if (errnoOf(err)) return errnoText(err)
  return e?.message ?? String(err)
}

/** Prints the failure (one line, or the JSON error with --json) and returns the exit code. */
export function report(err: unknown, json = false): number {
  if (json) {
    const code =
      err instanceof UsageError && err.wireCode
        ? err.wireCode
        : err instanceof ExecdError || errnoOf(err)
          ? toExecdError(err).code
          : exitCodeOf(err) === USAGE_EXIT
            ? 'USAGE'
            : 'RUNTIME_ERROR'
    const message = err instanceof ExecdError ? err.message : plainMessage(err)
    process.stderr.write(`${JSON.stringify({ code, message })}\n`)
  } else {
    // One line whatever the message holds: a path typed or named by a daemon may carry newlines or ESC.
    ownLine(`execd: ${visible(plainMessage(err).trimEnd())}`)
  }
  return exitCodeOf(err)
}
