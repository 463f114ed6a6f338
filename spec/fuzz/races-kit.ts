/** What the racing sequences (races-processes.ts, races-files.ts) share. */
import type { Pending, Reply } from './stream'

export const LIMIT_MS = 20_000
export const after = (ms: number) => (ms ? Bun.sleep(ms) : Promise.resolve())
export const json = (r: Reply): any => {
  try {
    return JSON.parse(r.text)
  } catch {
    return {}
  }
}
export const all = async (ps: Pending[]) => Promise.all(ps.map(p => p.done))
