/** A run's request to a session, checked, and the code its shell is handed for it. */
import { envEntryBytes, envsProblem } from '../../../core/exec-strings'
import { invalid } from './params'

export interface RunRequest {
  code: string
  envs?: Record<string, string>
  timeout_seconds?: number
}

/**
 * What each session's shell has had exported by runs' `envs` (bytes by name, as execve counts
 * them), keyed by the shell: a commit's fresh shell starts with none. The exports persist, so
 * their bound is the session's, not one request's: 5 MB given once had every later program of
 * the shell fail with "Argument list too long".
 */
const exported = new WeakMap<object, Map<string, number>>()

/**
 * The code the session's shell runs for `req` (its envs exported first: they persist, as an
 * export would) and its timeout; 400 INVALID_REQUEST_BODY for a request that cannot be run.
 * `remember` records the exports once the run is accepted.
 */
export function runOf(req: RunRequest, shell: object): { code: string; timeoutMs?: number; remember: () => void } {
  if (!req || typeof req.code !== 'string' || req.code.trim() === '') throw invalid('code is required')
  const t = req.timeout_seconds
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
    throw invalid(`timeout_seconds must be a non-negative number, got ${t}`)
  }
  const kept = exported.get(shell) ?? new Map<string, number>()
  // Names a shell can export; the same entries as a command's (a NUL the shell dropped: `x\0y`
  // arrived as `xy`); the session's exports bounded.
  const problem = envsProblem(req.envs ?? {}, { shell: true, kept })
  if (problem) throw invalid(problem)
  const envs = Object.entries(req.envs ?? {})
  const exports = envs.map(([k, v]) => `export ${k}=${quote(v)}\n`).join('')
  const remember = () => {
    if (envs.length === 0) return
    for (const [k, v] of envs) kept.set(k, envEntryBytes(k, v))
    exported.set(shell, kept)
  }
  return { code: exports + req.code, timeoutMs: t ? t * 1000 : undefined, remember }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
