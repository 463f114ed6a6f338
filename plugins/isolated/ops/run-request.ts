/** A run's request to a session, checked, and the code its shell is handed for it. */
import { envEntryBytes, envsProblem } from '../../../core/exec-strings'
import { invalid } from './params'

export interface RunRequest {
  code: string
  envs?: Record<string, string>
  timeout_seconds?: number
}

/**
 * The code the session's shell runs for `req` (its envs exported first: they persist, as an
 * export would) and its timeout; 400 INVALID_REQUEST_BODY for a request that cannot be run.
 * `kept` is what the session's shell has had exported by earlier runs (bytes by name, as execve
 * counts them); `exports` is what this run adds to it, once the run is accepted.
 */
export function runOf(
  req: RunRequest,
  kept: ReadonlyMap<string, number>,
): { code: string; timeoutMs?: number; exports: [string, number][] } {
  if (!req || typeof req.code !== 'string' || req.code.trim() === '') throw invalid('code is required')
  const t = req.timeout_seconds
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
    throw invalid(`timeout_seconds must be a non-negative number, got ${t}`)
  }
  // Names a shell can export; the same entries as a command's (a NUL the shell dropped: `x\0y`
  // arrived as `xy`); the session's exports bounded.
  const problem = envsProblem(req.envs ?? {}, { shell: true, kept })
  if (problem) throw invalid(problem)
  const envs = Object.entries(req.envs ?? {})
  const lines = envs.map(([k, v]) => `export ${k}=${quote(v)}\n`).join('')
  return {
    code: lines + req.code,
    timeoutMs: t ? t * 1000 : undefined,
    exports: envs.map(([k, v]) => [k, envEntryBytes(k, v)]),
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
