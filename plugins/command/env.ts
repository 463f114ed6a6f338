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
  name: string
  uid: number
  /** Absent when the entry's group field is not a number. */
  gid?: number
  home: string
}

/** The /etc/passwd entry of `uid`, if any. */
export function lookupUser(uid: number): UserEntry | undefined {
  const a = users().byId.get(uid)
  return a && { name: a.name, uid, gid: a.gid, home: a.home ?? '/' }
}

/** The full environment of a command. */
export function commandEnv(requestEnvs: Record<string, string> = {}, user?: UserEntry): Record<string, string> {
  const env = childEnv(envsFile())
  if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name })
  return Object.assign(env, requestEnvs)
}
