/**
 * Whether a request target's percent-encoded bytes are UTF-8. The URL parser decodes any that
 * are not into U+FFFD: `DELETE /files?path=/tmp/x%FF` removed a file named `x\uFFFD`, another
 * name than the one sent (and `x%FF` and `x%FE` one file), as a lone surrogate in JSON did before
 * core/beneath/path-scope.ts refused it. Raw bytes that are not UTF-8 (unencoded, which HTTP does
 * not allow) are Bun's: they reach execd already as `%EF%BF%BD`, a U+FFFD sent on purpose.
 */

const strict = new TextDecoder('utf-8', { fatal: true })

/** A run of percent-escapes (a character's bytes are always consecutive escapes). */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g

/** The first run of escapes in `target` that is not UTF-8, or undefined when all are. */
export function badPercentRun(target: string): string | undefined {
  // Only an escape of a byte from 0x80 on can be part of a character that is not UTF-8.
  if (!/%[89A-Fa-f]/.test(target)) return undefined
  for (const [run] of target.matchAll(ESCAPES)) {
    const bytes = new Uint8Array(run.length / 3)
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16)
    try {
      strict.decode(bytes)
    } catch {
      return run
    }
  }
  return undefined
}
