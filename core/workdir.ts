/**
 * Working directories of commands and sessions: `~` and `$VAR` expanded against an
 * environment as the reference does, and checked to be an existing directory (400 if not).
 */
import { statSync } from 'node:fs'
import { homedir } from 'node:os'
import { ExecdError, PREFIX } from './errors'

type Env = Record<string, string | undefined>

const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)

/** `$VAR` and `${VAR}` expanded against `env` (unset → empty), as Go's os.ExpandEnv. */
export const expandVars = (text: string, env: Env): string =>
  text.replace(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string, b: string) => env[a ?? b] ?? '')

/** `~` / `~/x` expanded to the home directory, then `$VAR`s. */
export function expandPath(path: string, env: Env = process.env): string {
  const home = env.HOME || homedir()
  const tilde = path === '~' ? home : path.startsWith('~/') ? home + path.slice(1) : path
  return expandVars(tilde, env)
}

/** The expanded working directory; a 400 when it is not an existing directory. */
export function resolveCwd(cwd: string | undefined, env: Env = process.env): string | undefined {
  if (cwd === undefined || cwd === '') return undefined
  const dir = expandPath(cwd, env)
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch (err) {
    throw invalid(`working directory does not exist: ${dir}: ${(err as Error).message}`)
  }
  if (!isDir) throw invalid(`working directory is not a directory: ${dir}`)
  return dir
}
