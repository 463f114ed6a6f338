/**
 * A one-shot `execd exec <language> CODE` prints what the language's own one-shot command prints
 * for the same code: `python3 -c '1 + 1'`, `node -e`, `java`, `go run` print nothing for a bare
 * expression, so neither does execd (a script ending in `main()` printed main's return value,
 * one ending in `plt.plot(…)` a list of Line2D). What the code shows itself still shows: its
 * output, `display()`, figures, and SQL's rows (sqlite3 and psql print them). The prompt, `--json`
 * and contexts over HTTP keep every result, as Jupyter does.
 */
import type { ExecEvent } from '../core/events'

/** Languages whose cells' results are only the last expression's value (no display()). */
const VALUE_ONLY = new Set(['java', 'go'])
const JS_LANGUAGES = new Set(['javascript', 'typescript'])

export const isJs = (language: string): boolean => JS_LANGUAGES.has(language)

const OPEN_STRING = ['"""', "'''"]

/**
 * The code to run for a one-shot python cell: python's driver sends the last statement's value
 * when that statement is an expression, and the wire tells it from a `display()` by nothing, so a
 * `pass` after it makes the last statement none (line numbers unchanged). Code that already ends
 * in a syntax error is left as typed: `\` at the end would take the `pass` into its line, and
 * an unclosed triple-quoted string's error would name the line after it.
 */
export function oneShotSource(language: string, source: string): string {
  if (language !== 'python' || /\\\s*$/.test(source) || OPEN_STRING.some(q => source.split(q).length % 2 === 0))
    return source
  return `${source}\npass`
}

/**
 * Whether a result is the last expression's value, left unprinted in a one-shot run: every
 * result of a value-only language; javascript's after the cell's count (display()'s come before).
 */
export const isValue = (language: string, event: ExecEvent, counted: boolean): boolean =>
  event.type === 'result' && (VALUE_ONLY.has(language) || (JS_LANGUAGES.has(language) && counted))
