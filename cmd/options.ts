/** Every option: the server's own and each plugin's and runtime's, for help and config. */
import { tokenUnservable } from './token-header'
import { ConfigError, SERVER_OPTIONS, flagsByName, resolveConfig, type Config, type OptionSpec } from '../core/config'
import { UsageError } from './errors'
import { envProblem } from '../core/exec-strings'
import { runtimeOptions, sectionOptions } from '../plugins/options'

const each = (specs: Readonly<Record<string, readonly OptionSpec[]>>) => Object.values(specs).flat()

export const allOptions: OptionSpec[] = [...SERVER_OPTIONS, ...each(sectionOptions), ...each(runtimeOptions)]

/**
 * A daemon's limits on many commands and contexts over time: one `exec` runs one cell or
 * command and exits, so none of them could change what it does, yet its help listed them all.
 */
const DAEMON_ONLY = new Set([
  'command-retention-count',
  'command-retention-age',
  'command-retention-bytes',
  'max-commands',
  'max-background-commands',
  'max-contexts',
  'context-idle',
  'keep-large-values',
  'max-isolated-sessions',
  'isolated-idle',
  // Where a session's `binds` may come from: exec --isolated names none.
  'isolated-binds',
])

/**
 * What `exec` accepts besides its own flags: the options of the language runtimes, of the
 * code, command and isolated sections it opens, and the Jupyter bridge's — those a single run reads.
 */
export const execOptions: OptionSpec[] = [
  // exec opens one context: no spare interpreter unless asked (exec.ts); its help said 1.
  ...each(runtimeOptions).map(o => (o.flag === 'python-spare' ? { ...o, default: '0' } : o)),
  ...sectionOptions.command!,
  ...sectionOptions.code!,
  ...sectionOptions.isolated!,
  ...SERVER_OPTIONS.filter(s => s.flag.startsWith('jupyter-')),
].filter(o => !DAEMON_ONLY.has(o.flag))

/** `--max-commands` given to a verb that has no use for it: serve's, said so rather than "unknown". */
export const serveOnly = (flag: string): boolean => allOptions.some(o => `--${o.flag}` === flag)

/** Whole-number options (`--port abc`) are refused as typed, before anything starts. */
export function checkWholeNumbers(specs: OptionSpec[], options: Record<string, unknown>): void {
  const given = flagsByName(options)
  for (const spec of specs) {
    if (!spec.int) continue
    const value = given[spec.flag]
    if (value === undefined) continue
    if (!/^\d+$/.test(String(value))) throw new UsageError(`--${spec.flag} expects a whole number, got '${value}'`)
  }
}

/** Config for a CLI verb: its flags, then the environment, then defaults. */
export const configFrom = (flags: Record<string, unknown> = {}): Config => resolveConfig(allOptions, flags)

/**
 * Config for `serve`: as configFrom, with the token read from --access-token-file if given (its
 * reader, and node:fs with it, load only then).
 */
export async function serveConfigFrom(flags: Record<string, unknown> = {}): Promise<Config> {
  // `--access-token "$TOKEN"` with TOKEN unset served without a token, on every interface with
  // `--host 0.0.0.0` (where any client sending `Host: localhost` is served). Leaving the flag out
  // is how to say none; an empty EXECD_ACCESS_TOKEN still says it, as the reference reads it.
  if ((flags['access-token'] ?? flags.accessToken) === '') {
    throw new ConfigError(
      'option --access-token is empty (an unset variable?): give the token, or leave the option out to serve without one',
    )
  }
  let config = configFrom(flags)
  const file = config.get('access-token-file')
  if (file) {
    if (config.get('access-token')) throw new ConfigError('give --access-token or --access-token-file, not both')
    const { readTokenFile } = await import('../core/token-file')
    config = resolveConfig(allOptions, { ...flags, 'access-token': readTokenFile(file) })
  }
  const token = config.get('access-token')
  const why = token ? tokenUnservable(token) : undefined
  // Never any part of the token: where it came from is enough to find it.
  if (why)
    throw new ConfigError(
      `the access token ${file ? `in ${file}` : '(--access-token or EXECD_ACCESS_TOKEN)'} cannot be sent by any client: ${why}`,
    )
  return config
}

/** Typed wrong (exit 2), with the code a command's `envs` gets over HTTP for it (--json). */
const typo = (message: string) => new UsageError(message, 'INVALID_REQUEST_BODY')

/**
 * `--env K=V` (repeatable) as a map; a pair without `=` is a usage error, as is one the route it
 * goes to refuses (`shell`: an isolated run's, whose names are exported).
 */
export function parseEnvPairs(raw: unknown, opts: { shell?: boolean } = {}): Record<string, string> | undefined {
  if (raw === undefined) return undefined
  const out: Record<string, string> = {}
  for (const pair of (Array.isArray(raw) ? raw : [raw]).map(String)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw typo(`--env expects KEY=VALUE, got '${pair}'`)
    const name = pair.slice(0, eq)
    // Assigned, it set the object's prototype: the variable vanished and the command ran without it.
    if (name === '__proto__') throw typo('--env: the environment variable name __proto__ is not supported')
    // What a command's `envs` refuses over HTTP: `--env $'A\nB=1'` reached the cell as a variable B.
    const problem = envProblem(name, pair.slice(eq + 1), opts)
    if (problem) throw typo(`--env: ${problem}`)
    out[name] = pair.slice(eq + 1)
  }
  return out
}
