/**
 * cac parses with mri, which reads words its own way: a lone `-` is taken for an option with no
 * name (`-f -` leaves `--file` without its value, `fs put - dest` loses its source), and an
 * option's value that looks like a number becomes one (`--access-token 0123` would be 123).
 * Before cac sees them, positional `-` and every option value are marked with a leading NUL
 * (argv cannot contain one, so nobody can type it), which mri keeps as text; `word` and
 * `restoreValues` take the mark off after parsing. cac hands the words after `--` to no
 * positional (only to `options['--']`): `execd fs stat -- -x` said "missing argument" and
 * `execd fs ls -- -x` listed the current directory. Unless they are a main process's argv
 * (serve's), they are marked too, and so are operands like the others.
 */
import type { CAC } from 'cac'

const MARK = '\0'

/**
 * A value that is a negative number, never a flag (none is a digit): `--timeout -5` was "unknown
 * option '-5'", not the option's own word on its bad value.
 */
const NEGATIVE = /^-\.?\d/

/** The flags (`--file`, `-f`) of every option of `cli` that takes a value. */
function valueFlags(cli: CAC): Set<string> {
  const flags = new Set<string>()
  for (const command of [cli.globalCommand, ...cli.commands]) {
    for (const option of command.options) {
      if (option.isBoolean) continue
      for (const name of option.names) flags.add(name.length === 1 ? `-${name}` : `--${kebab(name)}`)
    }
  }
  return flags
}

const kebab = (camel: string) => camel.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)

/**
 * argv as cac should see it (see above). `origins`, when given, gets the index in argv of each
 * word returned (a flag and its value merged are the flag's).
 */
export function protectDashes(cli: CAC, argv: string[], operandsAfterDashes = true, origins: number[] = []): string[] {
  const flags = valueFlags(cli)
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    const next = argv[i + 1]
    if (arg === '--') {
      const from = operandsAfterDashes ? i + 1 : i
      out.push(...(operandsAfterDashes ? argv.slice(from).map(w => `${MARK}${w}`) : argv.slice(from)))
      for (let k = from; k < argv.length; k++) origins.push(k)
      break
    }
    origins.push(i)
    const eq = arg.indexOf('=')
    if (arg.startsWith('-') && eq > 0 && flags.has(arg.slice(0, eq))) {
      out.push(`${arg.slice(0, eq)}=${MARK}${arg.slice(eq + 1)}`)
    } else if (flags.has(arg) && next !== undefined && (next === '-' || !next.startsWith('-') || NEGATIVE.test(next))) {
      out.push(`${arg}=${MARK}${argv[++i]}`)
    } else out.push(arg === '-' ? `${MARK}-` : arg)
  }
  return out
}

/** A positional as typed. */
export const word = (arg: unknown): string => unmark(String(arg))

const unmark = (text: string) => (text.startsWith(MARK) ? text.slice(MARK.length) : text)

/** cac's parsed options with every value as typed (text, as the flag gave it). */
export function restoreValues(options: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'string') options[key] = unmark(value)
    else if (Array.isArray(value)) options[key] = value.map(v => (typeof v === 'string' ? unmark(v) : v))
  }
}
