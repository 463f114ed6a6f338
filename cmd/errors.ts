/**
 * How a verb's failure reaches a person: one plain line on stderr (`execd: <what is wrong>`)
 * and an exit code — 2 when what was typed is wrong (a usage error, or input the operation
 * refused as a 400), 1 when the work failed. `--json` keeps the structured `{code, message}`.
 * Remote mode rebuilds the daemon's `{code, message}` as an ExecdError, so both modes end alike.
 */
import { ConfigError } from '../core/config'
import { ExecdError, PREFIX, errnoOf, errnoText, statusOf, toExecdError } from '../core/errors'
import { visible } from './visible'

export const USAGE_EXIT = 2

/** Something the person typed is wrong: exit 2, one line. */
export class UsageError extends Error {}

/**
 * The tree is in the way (`mkdir` over a file, `rmdir` of a file): nothing typed is wrong, so it
 * exits 1, while `--json` carries the code the wire answers for it (a 400's).
 */
export class TreeInTheWay extends ExecdError {}

/** The exit code for a failure: 2 for a usage error or refused input, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError || (err as Error)?.name === 'CACError') return USAGE_EXIT
  if (err instanceof TreeInTheWay) return 1
  if (err instanceof ExecdError && err.status === statusOf('INVALID_REQUEST_BODY')) return USAGE_EXIT
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
  // A system call's failure (a local file that cannot be read): the path as typed, Go's words.
  if (errnoOf(err) && e.path) return `${e.path}: ${errnoText(err)}`
  if (errnoOf(err)) return errnoText(err)
  return e?.message ?? String(err)
}

/** Prints the failure (one line, or the JSON error with --json) and returns the exit code. */
export function report(err: unknown, json = false): number {
  if (json) {
    const code =
      err instanceof ExecdError || errnoOf(err)
        ? toExecdError(err).code
        : exitCodeOf(err) === USAGE_EXIT
          ? 'USAGE'
          : 'RUNTIME_ERROR'
    const message = err instanceof ExecdError ? err.message : plainMessage(err)
    process.stderr.write(`${JSON.stringify({ code, message })}\n`)
  } else {
    // One line whatever the message holds: a path typed or named by a daemon may carry newlines or ESC.
    process.stderr.write(`execd: ${visible(plainMessage(err).trimEnd())}\n`)
  }
  return exitCodeOf(err)
}
