/**
 * cac parses with mri, which takes a lone `-` for an option with no name: `-f -` leaves `--file`
 * without its value and `fs put - dest` loses its source. Before cac sees them, `-` after an
 * option that takes a value is glued to it (`--file=-`), and a positional `-` is carried as a
 * word mri keeps (argv cannot contain NUL, so it cannot be typed) and given back as `-`.
 */
import type { CAC } from 'cac'

const STDIN_WORD = '\0-'

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

/** argv as cac should see it (see above). */
export function protectDashes(cli: CAC, argv: string[]): string[] {
  const flags = valueFlags(cli)
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      out.push(...argv.slice(i))
      break
    }
    if (flags.has(arg) && argv[i + 1] === '-') {
      out.push(`${arg}=-`)
      i++
    } else out.push(arg === '-' ? STDIN_WORD : arg)
  }
  return out
}

/** A positional as typed (`-` back from its protected form). */
export const word = (arg: unknown): string => (arg === STDIN_WORD ? '-' : String(arg))
