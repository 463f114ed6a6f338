/** A run's request to a session, checked, and the code its shell is handed for it. */
import { invalid, ENV_NAME } from './params'

export interface RunRequest {
  code: string
  envs?: Record<string, string>
  timeout_seconds?: number
}

/**
 * The code the session's shell runs for `req` (its envs exported first: they persist, as an
 * export would) and its timeout; 400 INVALID_REQUEST_BODY for a request that cannot be run.
 */
export function runOf(req: RunRequest): { code: string; timeoutMs?: number } {
  if (!req || typeof req.code !== 'string' || req.code.trim() === '') throw invalid('code is required')
  const t = req.timeout_seconds
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
    throw invalid(`timeout_seconds must be a non-negative number, got ${t}`)
  }
  const envs = Object.entries(req.envs ?? {})
  for (const [k, v] of envs) {
    if (!ENV_NAME.test(k)) throw invalid(`envs: not a variable name: ${k}`)
    if (typeof v !== 'string') throw invalid(`envs.${k}: expected a string`)
    // The shell would drop it without a word: `x\0y` arrived as `xy`.
    if (v.includes('\0')) throw invalid(`envs.${k} contains a NUL byte`)
    if (!v.isWellFormed()) throw invalid(`envs.${k} is not valid Unicode (a lone surrogate)`)
  }
  const exports = envs.map(([k, v]) => `export ${k}=${quote(v)}\n`).join('')
  return { code: exports + req.code, timeoutMs: t ? t * 1000 : undefined }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
