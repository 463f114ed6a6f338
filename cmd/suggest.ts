/**
 * "Did you mean": the verb, operation or option a mistyped word was most likely meant to be,
 * for the one line a usage error prints (the guess itself: core/closest.ts).
 */
import type { Command } from 'cac'
import { word } from './argv'
import { UsageError } from './errors'
import { closest } from '../core/closest'

export { closest }

/** What a usage error ends with: `(did you mean X? see <help>)`, or `(see <help>)`. */
export function hint(typed: string, candidates: readonly string[], help: string): string {
  const guess = closest(typed, candidates)
  return guess ? `(did you mean ${guess}? see ${help})` : `(see ${help})`
}

/** The flags a person types for `commands`' options (`--file`, `-f`). */
export function flagsOf(commands: readonly Command[]): string[] {
  const kebab = (camel: string) => camel.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
  return commands.flatMap(c => c.options.flatMap(o => o.names.map(n => (n.length === 1 ? `-${n}` : `--${kebab(n)}`))))
}

/**
 * cac's own usage errors as ours: the option meant when there is one, and where the help is.
 * `Unknown option \`--shel\`` → `unknown option '--shel' (did you mean --shell? see execd exec
 * --help)`; a missing argument or value names what is missing. Other errors as they are.
 */
export function withSuggestion(
  err: unknown,
  commands: readonly Command[],
  help: string,
  serveOnly: (flag: string) => boolean = () => false,
): unknown {
  if ((err as Error)?.name !== 'CACError') return err
  const message = (err as Error).message
  // cac names an option by its camelCase key: `--max-commands` came back as `--maxCommands`.
  const typed = /^Unknown option `(.+)`$/.exec(message)?.[1]?.replace(/(?<=^--.+)[A-Z]/g, c => `-${c.toLowerCase()}`)
  // `exec --max-commands 4`: a daemon's limit, which one run has no use for; "unknown" alone
  // sent a person who had read `serve --help` looking for a typo.
  // `metrics --port 5`: the daemon wanted on that port, as `ping --port` takes it. A verb that
  // drives a daemon is given its address; `it is serve's` (exec, metrics) or a bare `unknown
  // option` (fs) left the way there unsaid.
  if (typed === '--port')
    return new UsageError(`unknown option '--port': name the daemon by --url http://127.0.0.1:<port> (see ${help})`)
  if (typed && serveOnly(typed)) return new UsageError(`unknown option '${typed}': it is serve's (see ${help})`)
  if (typed) return new UsageError(`unknown option '${typed}' ${hint(typed, flagsOf(commands), help)}`)
  const usage = /^missing required args for command `(.+)`$/.exec(message)?.[1]
  if (usage)
    return new UsageError(
      `missing argument: ${help.replace(/ --help$/, '').replace(/ \S+$/, '')} ${usage} (see ${help})`,
    )
  // cac's `Unused args: \`b\`` (`execd fs ls a b`, `execd metrics extra`): which words, in ours.
  const unused = /^Unused args: (.+)$/.exec(message)?.[1]
  if (unused) {
    const words = [...unused.matchAll(/`([^`]*)`/g)].map(m => `'${word(m[1])}'`)
    return new UsageError(`unexpected argument${words.length > 1 ? 's' : ''} ${words.join(', ')} (see ${help})`)
  }
  // cac names the option as it was declared: `-f, --file <path>` read `-f, needs a value`.
  const option = /^option `([^`<[]+)[^`]*` value is missing$/.exec(message)?.[1]
  if (option) return new UsageError(`${option.trim().split(/,\s*/).join('/')} needs a value (see ${help})`)
  return err
}
