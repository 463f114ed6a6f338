/**
 * Splits a cell into statements the way each database's own shell reads them: at top-level
 * semicolons, past quotes, comments, PostgreSQL dollar quotes, MySQL backslash escapes and `#`
 * comments, SQLite bracket identifiers, and the bodies of compound statements (blocks.ts),
 * whose inner semicolons are theirs. For MySQL, a `DELIMITER x` line where a statement would
 * start sets what ends one, as the mysql client (and so every dump) has it. Drivers prepare one
 * statement at a time, and bun:sqlite silently ignores whatever follows the first one.
 */
import { Blocks } from './blocks'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

/** The mysql client's own bound on a delimiter; past it the line goes to the server as text. */
const MAX_DELIMITER = 16

/** Characters walked between turns given back: a 16 MiB cell was 1–2 s of the event loop in one piece. */
const TURN_EVERY = 1 << 18

export function splitStatements(text: string, dialect: Dialect): string[] {
  return [...statementsOf(text, dialect)].filter(stmt => stmt !== undefined)
}

/**
 * The statements as found, with an undefined after each ~256 Ki characters walked: where the
 * caller, on execd's event loop (plugins/sql/context.ts), lets other work in.
 */
export function* statementsOf(text: string, dialect: Dialect): Generator<string | undefined> {
  const out: string[] = []
  let turnAt = TURN_EVERY
  const n = text.length
  const mysql = dialect === 'mysql'
  let delimiter = ';'
  let start = 0
  let i = 0
  // Nothing but white space and comments since start: such a part is no statement.
  let blank = true
  let lineStart = true
  let blocks: Blocks | undefined
  const end = (at: number, after: number) => {
    if (!blank) out.push(text.slice(start, at).trim())
    start = i = after
    blank = true
    blocks = undefined
  }
  /** Marks the statement begun; at its first token its head says whether it opens a body. */
  const begun = () => {
    // Under a DELIMITER of its own the user has said where statements end.
    if (blank && delimiter === ';' && Blocks.opens(text.slice(start, Math.min(n, start + 512)), dialect))
      blocks = new Blocks(dialect)
    blank = false
  }
  while (i < n) {
    const c = text.charAt(i)
    const next = text.charAt(i + 1)
    const atLine: boolean = lineStart
    lineStart = false
    if (delimiter !== ';' && text.startsWith(delimiter, i)) end(i, i + delimiter.length)
    else if (c === '\n') {
      lineStart = true
      i++
    } else if (/\s/.test(c)) {
      lineStart = atLine
      i++
    } else if ((c === '-' && next === '-') || (c === '#' && mysql)) {
      i = lineEnd(text, i)
      lineStart = true
    } else if (c === '/' && next === '*') {
      // MySQL runs the text of /*! … */ (MariaDB also /*M! … */): a dump's statements.
      if (mysql && (text.charAt(i + 2) === '!' || text.startsWith('M!', i + 2))) begun()
      i = blockEnd(text, i)
    } else if (c === "'" || c === '"' || (c === '`' && dialect !== 'postgres')) {
      begun()
      i = quoteEnd(text, i, c, mysql || (c === "'" && dialect === 'postgres' && escapeString(text, i)))
      blocks?.punct("'")
    } else if (c === '[' && dialect === 'sqlite') {
      begun()
      const close = text.indexOf(']', i)
      i = close < 0 ? n : close + 1
      blocks?.punct("'")
    } else if (c === '$' && dialect === 'postgres' && dollarTag(text, i)) {
      begun()
      const tag = dollarTag(text, i)!
      const close = text.indexOf(tag, i + tag.length)
      i = close < 0 ? n : close + tag.length
      blocks?.punct("'")
    } else if (/[A-Za-z_]/.test(c) && (i === 0 || !/[\w$]/.test(text.charAt(i - 1)))) {
      const word = /^[A-Za-z_]\w*/.exec(text.slice(i, i + 64))![0]
      const set = mysql && blank && atLine && /^delimiter$/i.test(word) ? delimiterOf(text, i + word.length) : undefined
      if (set) {
        delimiter = set.delimiter
        start = i = set.after
        lineStart = true
        continue
      }
      begun()
      i += word.length
      if (blocks) i += blocks.word(word.toUpperCase(), () => nextWord(text, i), text.charAt(i) === '.')
    } else if (c === ';' && delimiter === ';' && !blocks?.depth) end(i, i + 1)
    else {
      begun()
      blocks?.punct(c)
      i++
    }
    if (out.length > 0) yield* out.splice(0)
    if (i >= turnAt) {
      turnAt = i + TURN_EVERY
      yield undefined
    }
  }
  end(n, n)
  yield* out
}

/**
 * The argument of a `DELIMITER` line (the word read up to `from`) and where the next line
 * starts; undefined when it has none, or one the mysql client would not take either.
 */
function delimiterOf(text: string, from: number): { delimiter: string; after: number } | undefined {
  if (!/[ \t]/.test(text.charAt(from))) return undefined
  const after = lineEnd(text, from)
  const arg = /^[ \t]*([^\s]+)/.exec(text.slice(from, after))?.[1]
  if (!arg || arg.length > MAX_DELIMITER || arg.includes('\\')) return undefined
  return { delimiter: arg, after }
}

/** The word after `i` past white space, upper-cased ('' if none), and the characters to its end. */
function nextWord(text: string, i: number): { word: string; skip: number } {
  let j = i
  while (j < text.length && /\s/.test(text.charAt(j))) j++
  const word = /^[A-Za-z_]\w*/.exec(text.slice(j, j + 64))?.[0] ?? ''
  return { word: word.toUpperCase(), skip: j - i + word.length }
}

function lineEnd(text: string, i: number): number {
  const nl = text.indexOf('\n', i)
  return nl < 0 ? text.length : nl + 1
}

function blockEnd(text: string, i: number): number {
  const close = text.indexOf('*/', i + 2)
  return close < 0 ? text.length : close + 2
}

/** Past the closing quote; a doubled quote is an escaped one, and MySQL also takes `\`. */
/**
 * PostgreSQL's E'…' string, whose backslashes escape: read as a plain one, E'\'' ended a
 * quote early and put the cell's next `;` inside a string, so one statement here was several
 * on the server (and a cursor's DECLARE, undone, ran them again unwrapped).
 */
const escapeString = (text: string, i: number): boolean =>
  /[Ee]/.test(text.charAt(i - 1)) && (i < 2 || !/[\w$]/.test(text.charAt(i - 2)))

function quoteEnd(text: string, i: number, q: string, backslash: boolean): number {
  for (let j = i + 1; j < text.length; j++) {
    if (backslash && text[j] === '\\') j++
    else if (text[j] === q) {
      if (text[j + 1] === q) j++
      else return j + 1
    }
  }
  return text.length
}

function dollarTag(text: string, i: number): string | undefined {
  return /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64))?.[0]
}

/** The statement's first keyword, upper-cased, past leading comments and parentheses. */
export function firstKeyword(stmt: string): string {
  const bare = stmt.replace(/^(?:\s|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*/, '')
  return /^[A-Za-z]+/.exec(bare)?.[0].toUpperCase() ?? ''
}
