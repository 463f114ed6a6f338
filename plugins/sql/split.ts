/**
 * Splits a cell into statements the way each database's own shell reads them: at top-level
 * semicolons, past quotes, comments, PostgreSQL dollar quotes, MySQL backslash escapes and `#`
 * comments, SQLite bracket identifiers, and the bodies of compound statements (blocks.ts),
 * whose inner semicolons are theirs. For MySQL, a `DELIMITER x` line where a statement would
 * start sets what ends one, as the mysql client (and so every dump) has it. Drivers prepare one
 * statement at a time, and bun:sqlite silently ignores whatever follows the first one.
 */
import { Blocks } from './blocks'
import {
  BACKTICK,
  DOLLAR,
  DOT,
  DQUOTE,
  LBRACKET,
  NL,
  QUOTE,
  SEMI,
  SLASH,
  STAR,
  blockEnd,
  executableOpening,
  isSpace,
  LPAREN,
  isIdent,
  isWordChar,
  isWordStart,
  lettersEnd,
  lineComment,
  lineEnd,
  quoteEnd,
  wordEnd,
  type ServerVersion,
} from './lex'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

/** The mysql client's own bound on a delimiter; past it the line goes to the server as text. */
const MAX_DELIMITER = 16

/** Characters walked between turns given back: a 16 MiB cell was 1–2 s of the event loop in one piece. */
const TURN_EVERY = 1 << 18

/**
 * A statement as the cell holds it, trimmed, and where its first token (a word, a quote, `(`,
 * an executable comment) starts: past its leading comments, found by the walk that split it.
 */
export interface Statement {
  text: string
  head: number
}

export function splitStatements(text: string, dialect: Dialect, server?: ServerVersion): string[] {
  return [...statementsOf(text, dialect, server)].flatMap(stmt => (stmt ? [stmt.text] : []))
}

/**
 * The statements as found, with an undefined after each ~256 Ki characters walked: where the
 * caller, on execd's event loop (plugins/sql/context.ts), lets other work in. `server`: a
 * MySQL-protocol server's version, whose executable comments past it are comments.
 */
export function* statementsOf(
  text: string,
  dialect: Dialect,
  server?: ServerVersion,
): Generator<Statement | undefined> {
  const out: Statement[] = []
  let turnAt = TURN_EVERY
  const n = text.length
  const mysql = dialect === 'mysql'
  let delimiter = ';'
  let start = 0
  let i = 0
  // Nothing but white space and comments since start: such a part is no statement.
  let blank = true
  let head = 0
  let lineStart = true
  let blocks: Blocks | undefined
  const end = (at: number, after: number) => {
    if (!blank) {
      const part = text.slice(start, at).trimStart()
      // Its leading white space trimmed: the same characters as `\s` (isSpace).
      out.push({ text: part.trimEnd(), head: head - (at - part.length) })
    }
    start = i = after
    blank = true
    blocks = undefined
  }
  /** Marks the statement begun; at its first token its head says whether it opens a body. */
  const begun = () => {
    // Under a DELIMITER of its own the user has said where statements end.
    if (!blank) return
    head = i
    // Read from its first token: a CREATE PROCEDURE behind 512 characters of comments is one.
    if (delimiter === ';' && Blocks.opens(text.slice(i, Math.min(n, i + 512)), dialect)) blocks = new Blocks(dialect)
    blank = false
  }
  while (i < n) {
    const c = text.charCodeAt(i)
    const atLine: boolean = lineStart
    lineStart = false
    if (delimiter !== ';' && text.startsWith(delimiter, i)) end(i, i + delimiter.length)
    else if (c === NL) {
      lineStart = true
      i++
    } else if (isSpace(c)) {
      lineStart = atLine
      i++
    } else if (lineComment(text, i, dialect)) {
      i = lineEnd(text, i)
      lineStart = true
    } else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      // MySQL runs the text of /*! … */ (MariaDB also /*M! … */): a dump's statements.
      if (mysql && executableOpening(text, i, server)) begun()
      i = blockEnd(text, i)
    } else if (c === QUOTE || c === DQUOTE || (c === BACKTICK && dialect !== 'postgres')) {
      begun()
      i = quoteEnd(text, i, c, mysql || (c === QUOTE && dialect === 'postgres' && escapeString(text, i)))
      blocks?.punct("'")
    } else if (c === LBRACKET && dialect === 'sqlite') {
      begun()
      const close = text.indexOf(']', i)
      i = close < 0 ? n : close + 1
      blocks?.punct("'")
    } else if (c === DOLLAR && dialect === 'postgres' && dollarTag(text, i)) {
      begun()
      const tag = dollarTag(text, i)!
      const close = text.indexOf(tag, i + tag.length)
      i = close < 0 ? n : close + tag.length
      blocks?.punct("'")
    } else if (isWordStart(c) && (i === 0 || !isWordChar(text.charCodeAt(i - 1)))) {
      const after = wordEnd(text, i)
      const set = mysql && blank && atLine && isDelimiterWord(text, i, after) ? delimiterOf(text, after) : undefined
      if (set) {
        delimiter = set.delimiter
        start = i = set.after
        lineStart = true
        continue
      }
      begun()
      const word = text.slice(i, after)
      i = after
      if (blocks) i += blocks.word(word.toUpperCase(), () => nextWord(text, i), text.charCodeAt(i) === DOT)
    } else if (c === SEMI && delimiter === ';' && !blocks?.depth) end(i, i + 1)
    else {
      begun()
      blocks?.punct(text.charAt(i))
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
  const c = text.charCodeAt(from)
  if (c !== 32 && c !== 9) return undefined
  const after = lineEnd(text, from)
  const arg = /^[ \t]*([^\s]+)/.exec(text.slice(from, after))?.[1]
  if (!arg || arg.length > MAX_DELIMITER || arg.includes('\\')) return undefined
  return { delimiter: arg, after }
}

/** The word after `i` past white space, upper-cased ('' if none), and the characters to its end. */
function nextWord(text: string, i: number): { word: string; skip: number } {
  let j = i
  while (j < text.length && isSpace(text.charCodeAt(j))) j++
  const end = isWordStart(text.charCodeAt(j)) ? wordEnd(text, j) : j
  return { word: text.slice(j, end).toUpperCase(), skip: end - i }
}

const isDelimiterWord = (text: string, i: number, after: number): boolean =>
  after - i === 9 && text.slice(i, after).toLowerCase() === 'delimiter'

/**
 * PostgreSQL's E'…' string, whose backslashes escape: read as a plain one, E'\'' ended a
 * quote early and put the cell's next `;` inside a string, so one statement here was several
 * on the server (and a cursor's DECLARE, undone, ran them again unwrapped).
 */
const escapeString = (text: string, i: number): boolean =>
  (text.charCodeAt(i - 1) | 32) === 101 /* e */ && (i < 2 || !isWordChar(text.charCodeAt(i - 2)))

/** The `$tag$` opening a dollar quote at `i`; PostgreSQL's names are at most 63 bytes. */
function dollarTag(text: string, i: number): string | undefined {
  let j = i + 1
  if (isWordStart(text.charCodeAt(j))) while (j < i + 64 && isIdent(text.charCodeAt(j))) j++
  return text.charCodeAt(j) === DOLLAR ? text.slice(i, j + 1) : undefined
}

/**
 * How far past where it is read from its first keyword may start: past this much white space,
 * comments and parentheses the statement has none ('') rather than the keyword read. The
 * scan runs in one piece on execd's event loop: 16 MiB of empty block comments took 100–215 ms (load 3).
 * The sql runtime reads from the statement's first token (`Statement.head`), which the splitter
 * found in turns, so only parentheses and executable comments count here.
 */
export const KEYWORD_WITHIN = 1 << 16

/**
 * The statement's first keyword, upper-cased, past leading comments and parentheses, and into
 * MySQL's executable comments: a dump's `/*!40101 SET …` is a SET, `/*!50003 CREATE …` a CREATE. The
 * sql runtime bounds a query by it (plugins/sql/driver.js) and names an error DBQueryError or
 * DBExecError. A statement is read once, forward, from `from` and no further than
 * `KEYWORD_WITHIN` characters: a regex here walked every unclosed comment.
 */
export function firstKeyword(stmt: string, dialect: Dialect, server?: ServerVersion, from = 0): string {
  // Cut first, so that a comment's end is looked for in the head only, not 16 MiB on.
  const head = from > 0 || stmt.length > KEYWORD_WITHIN + 32 ? stmt.slice(from, from + KEYWORD_WITHIN + 32) : stmt
  const n = Math.min(head.length, KEYWORD_WITHIN)
  let i = 0
  let inside = 0
  while (i < n) {
    const c = head.charCodeAt(i)
    if (isSpace(c) || c === LPAREN) i++
    else if (lineComment(head, i, dialect)) i = lineEnd(head, i)
    else if (c === SLASH && head.charCodeAt(i + 1) === STAR) {
      const opening = dialect === 'mysql' ? executableOpening(head, i, server) : 0
      if (opening) inside++
      i = opening ? i + opening : blockEnd(head, i)
    } else if (inside > 0 && c === STAR && head.charCodeAt(i + 1) === SLASH) {
      inside--
      i += 2
    } else break
  }
  if (i >= KEYWORD_WITHIN) return ''
  // No keyword is longer; a longer run of letters is none of those the runtime looks for.
  return head.slice(i, lettersEnd(head, i, 32)).toUpperCase()
}
