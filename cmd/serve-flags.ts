/**
 * `execd serve`'s words read without cac, for the start every container pays: going through
 * the CLI's chunk (cac, every verb, help) cost a serve start 0.14 M main-thread instructions
 * before listening (bench/start-instructions.ts; 26 → 25 chunks, 95.7 → 84.7 kB loaded). Only
 * the plain forms are read here — `--flag value`, `--flag=value`, a
 * boolean `--flag`, each flag once, then `--` and the main process's words — and they mean what
 * they mean to cac (a value as typed, never a number). Anything else (an unknown or repeated
 * flag, a value missing or starting with `-`, a positional, help, version) gives undefined: cac
 * reads those words, and its messages stay the CLI's.
 */
import type { OptionSpec } from '../core/config'

/** The flags of `words` (after `serve`) by option name, and `--`; undefined for cac to read. */
export function plainServeFlags(
  words: readonly string[],
  specs: readonly OptionSpec[],
): Record<string, unknown> | undefined {
  const byFlag = new Map(specs.map(s => [`--${s.flag}`, s]))
  const flags: Record<string, unknown> = {}
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (word === '--') {
      flags['--'] = words.slice(i + 1)
      return flags
    }
    const eq = word.indexOf('=')
    const spec = byFlag.get(eq > 0 ? word.slice(0, eq) : word)
    if (!spec || spec.flag in flags) return undefined
    if (spec.boolean) {
      if (eq > 0) return undefined
      flags[spec.flag] = true
    } else if (eq > 0) flags[spec.flag] = word.slice(eq + 1)
    else {
      const value = words[i + 1]
      if (value === undefined || value.startsWith('-')) return undefined
      flags[spec.flag] = value
      i++
    }
  }
  flags['--'] = []
  return flags
}
