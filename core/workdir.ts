/**
 * Working directories of commands, sessions, code contexts and terminals, resolved here and
 * nowhere else (`workingDir`): `~`, `$VAR` and `${VAR}` expanded against an environment as the
 * reference does (an undefined variable is a 400 naming it), and, under `--root`, confined to it
 * like every files path: a relative cwd resolves from the root, and one that leads out of it
 * (by `..`, an absolute path or a symlink in its existing part) is a 400 before anything is
 * created or started.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { ConfigError, SERVER, settingsOf, type Config } from './config'
import { ExecdError, PREFIX, badRequest, clip, errnoText } from './errors'

type Env = Record<string, string | undefined>

const invalid = (message: string) => new ExecdError('INVALID_REQUEST_BODY', `${PREFIX.validation}${message}`)

/**
 * The `--root` of `config` as its real path (undefined: none), read by each section that
 * resolves a working directory when it opens, and kept in its instance as the files section
 * keeps its scope. Until stop 51 `serve` set it once for the process: an app built in the same
 * process with another root (the in-process tests, a CLI verb beside a served section) confined
 * its files to its own root and its commands, sessions, terminals and contexts to serve's.
 */
export function workRoot(config: Config): string | undefined {
  const { root } = settingsOf(config, { root: SERVER.root })
  return root ? realRoot(root) : undefined
}

/**
 * A `--root` as its real path, or the one line saying why it cannot be one: the server's and
 * `execd fs`'s alike (fs said Node's "ENOENT: …, lstat '/x'" and took a file as its root).
 */
export function realRoot(root: string, cwd = process.cwd()): string {
  let real: string
  try {
    real = realpathSync(resolve(cwd, root))
  } catch (err) {
    throw new ConfigError(`--root ${root}: ${errnoText(err)}`)
  }
  // A file as the root let every path through as itself and made every cwd fail (ENOTDIR).
  if (!statSync(real).isDirectory()) throw new ConfigError(`--root ${root}: not a directory`)
  return real
}

/**
 * `$VAR` and `${VAR}` expanded against `env` (unset → empty), as Go's os.ExpandEnv: the values
 * of the `EXECD_ENVS` file. Directories use the stricter `expandVariables`.
 */
export const expandVars = (text: string, env: Env): string =>
  text.replace(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string, b: string) => env[a ?? b] ?? '')

/**
 * `$NAME` and `${NAME}` expanded against `env`; shell specials (`$1`, `$$`, `$?`) expand to
 * nothing, as the reference's os.Expand. An undefined variable is a 400 naming it (`what`
 * references undefined environment variables: NAME), never a value: the rule of every
 * working directory and of every files path.
 */
export function expandVariables(text: string, env: Env = process.env, what = 'path'): string {
  const undefinedNames: string[] = []
  const out = text.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([*#$@!?\-0-9]))/g,
    (_, braced: string | undefined, bare: string | undefined, special: string | undefined) => {
      if (special !== undefined) return ''
      const name = (braced ?? bare)!
      const value = env[name]
      if (value === undefined) {
        undefinedNames.push(name)
        return ''
      }
      return value
    },
  )
  if (undefinedNames.length)
    throw badRequest(`${what} references undefined environment variables: ${undefinedNames.join(', ')}`)
  return out
}

/**
 * The home directory `~` stands for: `$HOME`, else the user's passwd entry. Asked only for a
 * path that starts with `~`: a container with neither (no HOME, no /etc/passwd) still serves
 * every other path, and a `~` there is a 400 that says why.
 */
function homeDirectory(env: Env = process.env): string {
  if (env.HOME) return env.HOME
  try {
    return homedir()
  } catch {
    throw badRequest('cannot expand ~: no HOME is set and the user has no passwd entry')
  }
}

/**
 * `~` → the home directory, `~/x` → x under it (a HOME with a trailing slash gives one slash);
 * `~user` and a `~` elsewhere stay as written (as the reference). Working directories and files
 * paths both expand it here.
 */
export function expandHome(path: string, env: Env = process.env): string {
  if (path === '~') return homeDirectory(env)
  if (path.startsWith('~/')) return join(homeDirectory(env), path.slice(2))
  return path
}

/** `~` / `~/x` expanded to the home directory (`$HOME`), then `$VAR`s (undefined: a 400). */
export function expandPath(path: string, env: Env = process.env): string {
  return expandVariables(expandHome(path, env), env, 'working directory')
}

/**
 * Deeper than any working directory a program works in. Resolved and created by the event loop
 * itself, one 1,500 levels deep (a 3 KB path) held it 230–700 ms, 3 s under load: realpath of each
 * missing level under a root, then a recursive mkdir.
 */
const MAX_CWD_DEPTH = 256

/**
 * An (already expanded) working directory as an absolute path. Under a root: resolved from
 * it, refused (400) if it is outside lexically or once the symlinks of its existing part are
 * resolved; the returned path has those resolved, so a directory created from it is inside.
 */
export function confineCwd(dir: string, root: string | undefined, written = dir): string {
  const path = resolve(root ?? '', dir)
  const depth = path.split(sep).length - 1
  if (depth > MAX_CWD_DEPTH)
    throw invalid(`working directory is ${depth} levels deep, more than ${MAX_CWD_DEPTH}: ${clip(written, 120)}`)
  if (!root) return path
  const inside = (p: string) => p === root || p.startsWith(root === sep ? sep : root + sep)
  // Messages name the directory as the client wrote it: its expansion may hold the daemon's
  // environment ($PATH, $HOME, a secret someone exported).
  const refuse = () => badRequest(`path is outside the root ${root}: ${written}`)
  if (!inside(path)) throw refuse()
  const real = realpathOfExistingPrefix(path, written)
  if (!inside(real)) throw refuse()
  return real
}

/**
 * Whether a missing working directory is created (like `mkdir -p`) or is a 400, per kind of
 * route: the one place this is decided. Sessions and code contexts create theirs, as the
 * reference does; a command, a session run and a terminal need an existing directory.
 */
export const CREATES_MISSING_DIR = {
  command: false,
  'session run': false,
  terminal: false,
  session: true,
  'code context': true,
} as const
type CwdKind = keyof typeof CREATES_MISSING_DIR

/**
 * A route's working directory: `~`, `$VAR` and `${VAR}` expanded (an undefined variable is a
 * 400), confined to the root, then created or required per `CREATES_MISSING_DIR`. Undefined
 * when no cwd is asked for. Messages name the directory as written, never its expansion.
 */
export function workingDir(
  kind: CwdKind,
  cwd: string | undefined,
  env: Env,
  root: string | undefined,
): string | undefined {
  if (cwd === undefined || cwd === '') return undefined
  // Said plainly: a NUL was "error ERR_INVALID_ARG_VALUE", and a lone surrogate became U+FFFD
  // on its way to mkdir (a context's cwd "a\ud800" made "a\ufffd").
  if (cwd.includes('\0')) throw invalid(`working directory contains a NUL byte: ${JSON.stringify(cwd)}`)
  if (!cwd.isWellFormed())
    throw invalid(`working directory is not valid Unicode (a lone surrogate): ${JSON.stringify(cwd)}`)
  const dir = confineCwd(expandPath(cwd, env), root, cwd)
  if (CREATES_MISSING_DIR[kind]) {
    try {
      mkdirSync(dir, { recursive: true })
    } catch (err) {
      throw invalid(`cannot create working directory ${cwd}: ${errnoText(err)}`)
    }
  }
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch (err) {
    throw invalid(`working directory does not exist: ${cwd}: ${errnoText(err)}`)
  }
  if (!isDir) throw invalid(`working directory is not a directory: ${cwd}`)
  return dir
}

/** The working directory of a command (or session run): it must exist. */
export const resolveCwd = (cwd: string | undefined, env: Env, root: string | undefined) =>
  workingDir('command', cwd, env, root)

/**
 * realpath of the longest existing prefix, the rest appended as named. A dangling symlink
 * stops the walk up at its own name: `mkdir -p` fails on it rather than creating its target.
 */
function realpathOfExistingPrefix(p: string, written: string): string {
  const rest: string[] = []
  let cur = p
  for (;;) {
    try {
      const real = realpathSync(cur)
      return rest.length ? join(real, ...rest.reverse()) : real
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw invalid(`working directory ${written}: ${errnoText(err)}`)
      const up = dirname(cur)
      if (up === cur) return p
      rest.push(cur.slice(up.length).replace(/^\//, ''))
      cur = up
    }
  }
}
