/**
 * `verbose` of a replace, read alike by `/files/replace` and an isolated session's twin (which
 * took `1` as a 400 where the files route took it as "not true"): `true` or `1` (any case) ask for
 * the counts, `false` or `0` for the empty answer, anything else is a 400 rather than a silent
 * empty answer. The reference takes `true` exactly and everything else as false. No Elysia here:
 * the files and isolated sections' schemas both build their query from it.
 */
import { badRequest } from './errors'

export const VERBOSE_PATTERN = '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$'
export const VERBOSE_WORDS = 'true or 1 (any case); false or 0 for an empty answer'

/** Whether a replace answers its counts: `verbose` as sent, or `absent` when it was not. */
export function verboseFlag(raw: string | undefined, absent: boolean): boolean {
  if (raw === undefined) return absent
  const v = raw.toLowerCase()
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw badRequest(`verbose must be true or false (or 1 or 0): got '${raw}'`)
}
