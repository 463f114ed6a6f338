/**
 * What execve(2) takes as an argument or an environment entry, checked while a request can still
 * be answered with a 400: past this point a spawn refused them and the request had already
 * become a 200 stream (or a terminal created with 201) whose error quoted the runtime.
 */
import { ExecdError, PREFIX } from './errors'

/** Linux's MAX_ARG_STRLEN (32 pages): one argument or `NAME=value` string, its NUL included. */
export const MAX_ARG_STRLEN = 32 * 4096

/** Why `value` cannot be one argument of a process (as sent), or undefined when it can. */
export function argumentProblem(what: string, value: string): string | undefined {
  if (value.includes('\0')) return `${what} contains a NUL byte`
  if (!value.isWellFormed()) return `${what} is not valid Unicode (a lone surrogate)`
  if (tooLong(value)) return `${what} is longer than one argument may be (${MAX_ARG_STRLEN - 1} bytes)`
  return undefined
}

/**
 * Why `name` = `value` cannot be an entry of a process's environment: an empty name or one
 * with `=` (`{"A=B":"1"}` set A to `B=1`), a newline in a name (no shell can name it, and `env`
 * printed `A\nB=1` as a variable B), a NUL anywhere (the spawn refused it), a lone surrogate (it
 * reached the child as U+FFFD), or an entry longer than the kernel takes. Any other name is a
 * valid entry, shell identifier or not. The CLI's `--env` is held to the same.
 */
export function envEntryProblem(name: string, value: string): string | undefined {
  if (name === '') return 'an environment variable name is empty'
  if (name.includes('=')) return `environment variable name contains '=': ${JSON.stringify(name)}`
  if (name.includes('\0')) return `environment variable name contains a NUL byte: ${JSON.stringify(name)}`
  if (name.includes('\n')) return `environment variable name contains a newline: ${JSON.stringify(name)}`
  if (value.includes('\0')) return `environment variable ${name} contains a NUL byte`
  if (!name.isWellFormed() || !value.isWellFormed()) {
    return `environment variable ${JSON.stringify(name)} is not valid Unicode (a lone surrogate)`
  }
  if (tooLong(`${name}=${value}`)) {
    return `environment variable ${name} is longer than one entry may be (${MAX_ARG_STRLEN - 1} bytes with its name)`
  }
  return undefined
}

/** A name a shell can `export`: what an isolated session's `envs` need, as they persist as exports. */
export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The most a request's `envs` may hold where they outlive the request (an isolated session's
 * exports, which every later program of its shell inherits): `NAME=value`, its NUL and the
 * pointer execve counts for each entry. Half the kernel's ARG_MAX with the default 8 MiB stack
 * (2 MiB): past that a session's shell could start nothing ("Argument list too long").
 */
export const MAX_KEPT_ENV_BYTES = 1024 * 1024

/**
 * And as many entries at most: bash takes time quadratic in its environment's count to start
 * (16,384 one-letter entries 1.3 s, 4,096 62 ms), so a session holding 80k small exports had
 * every `bash -c` of its code take a minute.
 */
export const MAX_KEPT_ENV_ENTRIES = 4096

/** What execve counts for one environment entry: `NAME=value`, its NUL, its pointer. */
export const envEntryBytes = (name: string, value: string): number =>
  Buffer.byteLength(name) + Buffer.byteLength(value) + 2 + 8

/** One entry's problem as envsProblem words it (the CLI's `--env` asks per pair). */
export function envProblem(name: string, value: string, opts: { shell?: boolean } = {}): string | undefined {
  const problem = envEntryProblem(name, value)
  if (problem) return problem
  if (opts.shell && !SHELL_NAME.test(name)) return `not a variable name a shell can export: ${JSON.stringify(name)}`
  return undefined
}

/**
 * Why a request's `envs` cannot be given, naming the entry, or undefined when they can: every
 * route and CLI verb that takes an environment asks this before anything starts. `shell` holds
 * names to what a shell can export (an isolated session's runs); elsewhere any name execve takes
 * is valid (`a.b`, `A B`: `env` sets them and a program can read them, as the reference lets
 * through). The total is left to the kernel where the environment ends with the process (a
 * command's E2BIG is its own 400); `kept` is what the caller's environment already holds that
 * these entries add to or replace (an isolated session's exports so far), bounded by
 * MAX_KEPT_ENV_BYTES and MAX_KEPT_ENV_ENTRIES.
 */
export function envsProblem(
  envs: Record<string, unknown>,
  opts: { shell?: boolean; kept?: ReadonlyMap<string, number> } = {},
): string | undefined {
  const kept = opts.kept
  let total = 0
  if (kept) for (const n of kept.values()) total += n
  for (const [name, value] of Object.entries(envs)) {
    if (typeof value !== 'string') return `envs.${name}: expected a string`
    const problem = envProblem(name, value, opts)
    if (problem) return `envs: ${problem}`
    if (kept) total += envEntryBytes(name, value) - (kept.get(name) ?? 0)
  }
  if (kept) {
    let count = kept.size
    for (const name of Object.keys(envs)) if (!kept.has(name)) count++
    if (count > MAX_KEPT_ENV_ENTRIES) {
      return `envs: the session's exported environment would hold ${count} entries, more than ${MAX_KEPT_ENV_ENTRIES}`
    }
  }
  if (kept && total > MAX_KEPT_ENV_BYTES) {
    return `envs: the session's exported environment would hold ${total} bytes, more than ${MAX_KEPT_ENV_BYTES} (each entry's NAME=value, NUL and pointer counted)`
  }
  return undefined
}

/** Whether `s` in UTF-8 with its NUL passes MAX_ARG_STRLEN; cheap for short strings. */
const tooLong = (s: string): boolean => s.length * 3 >= MAX_ARG_STRLEN && Buffer.byteLength(s) >= MAX_ARG_STRLEN

/**
 * A request's `envs` naming `__proto__`: the validator builds the record anew by assignment,
 * where that key sets the prototype, so the variable vanished without a word. Called where the
 * body is still as parsed (a route's transform), before the validator.
 */
export function refuseProtoEnv(envs: unknown): void {
  if (typeof envs === 'object' && envs !== null && Object.hasOwn(envs, '__proto__')) {
    throw new ExecdError(
      'INVALID_REQUEST_BODY',
      `${PREFIX.validation}envs: the environment variable name __proto__ is not supported`,
    )
  }
}

/** Whether a spawn failed because the arguments and environment together were too large. */
export const isArgListTooLong = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'E2BIG'
