/**
 * What a command runs with: the environment (execd's, then the `EXECD_ENVS` file re-read for
 * every command as the reference does, then the request's) and the user (from /etc/passwd).
 */
import { existsSync, readFileSync } from 'node:fs'
import { users } from '../../core/accounts'
import { childEnv } from '../../core/child-env'
import { expandVars } from '../../core/workdir'

type Env = Record<string, string | undefined>

/** `KEY=VALUE` lines of the file named by `EXECD_ENVS`; `#` comments; values `$VAR`-expanded. */
function envsFile(env: Env = process.env): Record<string, string> {
  const path = env.EXECD_ENVS
  const out: Record<string, string> = {}
  if (!path || !existsSync(path)) return out
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return out
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    out[line.slice(0, eq).trim()] = expandVars(line.slice(eq + 1).trim(), env)
  }
  return out
}

export interface UserEntry {
  /** Absent for a uid with no passwd entry. */
  name?: string
  uid: number
  /** Absent when the entry's group field is not a number. */
  gid?: number
  home: string
}

/**
 * The /etc/passwd entry of `uid`; for a uid with none, its own number as its group and `/` as
 * its home (as `docker run --user N` gives HOME): the reference ran it with gid 0 (Go's zero
 * credential) and execd's HOME, so an unprivileged uid got root's group and root's home.
 */
export function lookupUser(uid: number): UserEntry {
  const a = users().byId.get(uid)
  return a ? { name: a.name, uid, gid: a.gid, home: a.home ?? '/' } : { uid, gid: uid, home: '/' }
}

/** The full environment of a command; a user with no name has no USER or LOGNAME (not execd's). */
export function commandEnv(requestEnvs: Record<string, string> = {}, user?: UserEntry): Record<string, string> {
  const env = childEnv(envsFile())
  if (user) env.HOME = user.home
  if (user?.name) Object.assign(env, { USER: user.name, LOGNAME: user.name })
  else if (user) for (const name of ['USER', 'LOGNAME']) delete env[name]
  return Object.assign(env, requestEnvs)
}
