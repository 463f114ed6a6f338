/**
 * A client option that is a whole number (a verb's `--timeout`, `--answer-timeout`,
 * `--silence-notice`, `ping --port`, `fs cat --offset`…): its flag, its variable, its range and
 * its unit declared once, read one way and refused in one line's shape. Each was parsed by hand,
 * with its own words: `ping --timeout 99999999999999999999` said Bun's `Value 1e+20 is outside
 * the range`, `--answer-timeout ''` and `fs cat --offset ''` were taken as not given, `ping --port
 * 5x` was said as a bad `--url`. The daemon's options have theirs (core/config.ts, `intOption`).
 */
import type { ErrorCode } from '../core/errors'
import { UsageError } from './errors'

export interface WholeOption {
  /** The long flag without its dashes: 'answer-timeout'. */
  flag: string
  /** Its one-letter alias, if it has one: 'd' for `-d, --depth`. */
  short?: string
  /** Read when the flag is not given; empty is unset, as the daemon reads its variables. */
  env?: string
  /** What it counts, as said: 'milliseconds', 'lines', 'levels', 'a port number'. */
  unit: string
  /** The placeholder in help: `<ms>`. */
  placeholder: string
  /** The least value taken, but 0 when `zero` says what 0 means. */
  min: number
  /** At most Number.MAX_SAFE_INTEGER: past it the number read is not the one typed. */
  max: number
  /** What 0 means, when 0 is taken below `min` (`never`, `no limit`). */
  zero?: string
  /** What `--json` says it was (the files route's code for the same query), else USAGE. */
  wireCode?: ErrorCode
}

/** A day and a year in milliseconds, the bounds of the client's waits. */
export const DAY_MS = 86_400_000
export const YEAR_MS = 365 * DAY_MS

/** The range as help says it: `1000 to 86400000, 0: never`. */
const rangeOf = (o: WholeOption) => `${o.min} to ${o.max}${o.zero ? `, 0: ${o.zero}` : ''}`

/**
 * The option's value, or undefined when neither the flag nor its variable is given. `typed` is
 * the flag's value as cac gives it (text: cmd/argv.ts keeps it as typed), an array when given
 * twice. Anything but digits in the range (`1e3`, `0x10`, ` 5`, `-0`, `Infinity`, an empty flag)
 * is a usage error naming the option, or the variable when the value came from there.
 */
export function wholeOf(o: WholeOption, typed: unknown, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = typed === undefined && o.env !== undefined && env[o.env] !== '' ? env[o.env] : undefined
  const raw = typed ?? fromEnv
  if (raw === undefined) return undefined
  const name = typed === undefined ? o.env! : `--${o.flag}`
  if (Array.isArray(raw))
    throw new UsageError(
      `${name} is given ${raw.length} times (${raw.map(v => `'${v}'`).join(', ')}): give it once`,
      o.wireCode,
    )
  const text = String(raw)
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if ((n === 0 && o.zero !== undefined) || (n >= o.min && n <= o.max)) return n
  const zero = o.zero ? ` (0: ${o.zero})` : ''
  throw new UsageError(`${name} expects ${o.unit} from ${o.min} to ${o.max}${zero}, got '${text}'`, o.wireCode)
}

/**
 * The option as cac registers it and help shows it: what it does, then its range, its default
 * and its variable (`--silence-notice <ms>`, `… (1000 to 86400000, 0: never; default 10000; env
 * EXECD_SILENCE_NOTICE)`).
 */
export function wholeHelp(o: WholeOption, does: string, byDefault?: string | number): [string, string] {
  const names = `${o.short ? `-${o.short}, ` : ''}--${o.flag} ${o.placeholder}`
  const notes = [rangeOf(o), byDefault === undefined ? [] : `default ${byDefault}`, o.env ? `env ${o.env}` : []].flat()
  return [names, `${does} (${notes.join('; ')})`]
}
