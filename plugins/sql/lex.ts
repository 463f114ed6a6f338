/**
 * The characters the SQL splitter (split.ts), a body's head (blocks.ts) and a statement's first
 * keyword are read by, as char codes and table lookups: a regex per character made the
 * splitter 1.5–2.5× slower than stop 53's on some cells. Every scan here moves forward only.
 */
import type { Dialect } from './split'

export const NL = 10
const HASH = 35
export const DOLLAR = 36
export const QUOTE = 39
export const LPAREN = 40
export const STAR = 42
const DASH = 45
export const DOT = 46
export const SLASH = 47
export const SEMI = 59
const BANG = 33
export const BACKSLASH = 92
export const BACKTICK = 96
export const DQUOTE = 34
export const LBRACKET = 91

const SPACE = 1
const WORD_START = 2 // [A-Za-z_]
const WORD = 4 // [A-Za-z0-9_$]: what a word may not follow
const LETTER = 8
const DIGIT = 16
const ASCII = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/\s/.test(ch)) ASCII[c]! |= SPACE
  if (/[A-Za-z_]/.test(ch)) ASCII[c]! |= WORD_START
  if (/[\w$]/.test(ch)) ASCII[c]! |= WORD
  if (/[A-Za-z]/.test(ch)) ASCII[c]! |= LETTER
  if (/\d/.test(ch)) ASCII[c]! |= DIGIT
}

/** JavaScript's `\s`, Unicode's spaces too (a no-break space between words, a BOM). */
export const isSpace = (c: number): boolean => (c < 128 ? (ASCII[c]! & SPACE) !== 0 : /\s/.test(String.fromCharCode(c)))
export const isWordStart = (c: number): boolean => c < 128 && (ASCII[c]! & WORD_START) !== 0
/** A character a word may not follow to be one: `\w` or `$` (PostgreSQL's names hold `$`). */
export const isWordChar = (c: number): boolean => c < 128 && (ASCII[c]! & WORD) !== 0
/** `\w`: what continues a word once started. */
export const isIdent = (c: number): boolean => c !== DOLLAR && isWordChar(c)
const isLetter = (c: number): boolean => c < 128 && (ASCII[c]! & LETTER) !== 0
const isDigit = (c: number): boolean => c < 128 && (ASCII[c]! & DIGIT) !== 0

/**
 * Whether `--` at `i` starts a comment. MySQL and MariaDB take it only before white space or a
 * control character (or at the end), as their lexer and the mysql client do: `SELECT 1--1` is
 * 1 - -1. PostgreSQL and SQLite always.
 */
function dashComment(text: string, i: number, dialect: Dialect): boolean {
  if (text.charCodeAt(i) !== DASH || text.charCodeAt(i + 1) !== DASH) return false
  if (dialect !== 'mysql' || i + 2 >= text.length) return true
  const c = text.charCodeAt(i + 2)
  return c <= 32 || c === 127
}

/** Whether a comment to the end of the line starts at `i`: `--` (as `dashComment`), MySQL's `#`. */
export const lineComment = (text: string, i: number, dialect: Dialect): boolean =>
  dashComment(text, i, dialect) || (dialect === 'mysql' && text.charCodeAt(i) === HASH)

/** Past the line `i` is on (its newline included). */
export function lineEnd(text: string, i: number): number {
  const nl = text.indexOf('\n', i)
  return nl < 0 ? text.length : nl + 1
}

/** Past the end of the block comment opening at `i`, or the end of the text if it has none. */
export function blockEnd(text: string, i: number): number {
  const close = text.indexOf('*/', i + 2)
  return close < 0 ? text.length : close + 2
}

/**
 * A MySQL-protocol server as its executable comments read it: its version as their digits
 * write it (10.11.19: 101119), and whether it is MariaDB, which also runs `/*M!` and ignores
 * MySQL 5.7's and later's `/*!50700`–`/*!99999`.
 */
export interface ServerVersion {
  id: number
  mariadb: boolean
}

/** A server's VERSION() text ('10.11.19-MariaDB-0+deb12u1', '8.0.36') as its comments read it. */
export function serverVersion(text: string): ServerVersion | undefined {
  const [, major, minor, patch] = /^(\d{1,3})\.(\d{1,2})\.(\d{1,2})/.exec(text) ?? []
  if (patch === undefined) return undefined
  return { id: Number(major) * 10000 + Number(minor) * 100 + Number(patch), mariadb: /mariadb/i.test(text) }
}

/**
 * MySQL's executable comment opening at `i`, `/*!` or MariaDB's `/*M!` with its version
 * digits: the length of that opening, 0 if none. The server runs its text as SQL when the
 * comment has no version (5 or 6 digits) or one at most its own, as the server's lexer reads
 * them (MariaDB's sql_lex.cc, MySQL's sql_lex.cc); for an unknown `server`, always.
 */
export function executableOpening(text: string, i: number, server?: ServerVersion): number {
  if (text.charCodeAt(i) !== SLASH || text.charCodeAt(i + 1) !== STAR) return 0
  let j = i + 2
  const maria = text.charCodeAt(j) === 77 /* M */
  if (maria) j++
  if (text.charCodeAt(j) !== BANG) return 0
  j++
  // MySQL's own server takes /*M! for a comment.
  if (maria && server && !server.mariadb) return 0
  let k = j
  while (k < j + 6 && isDigit(text.charCodeAt(k))) k++
  // Fewer than 5 digits are no version: the server reads them as the comment's SQL.
  if (k - j < 5) return j - i
  const version = Number(text.slice(j, k))
  if (server && !runs(version, server, maria)) return 0
  return k - i
}

const runs = (version: number, server: ServerVersion, maria: boolean): boolean =>
  version <= server.id && (!server.mariadb || maria || version < 50700 || version > 99999)

/** Past the closing quote; a doubled quote is an escaped one, and `backslash` also takes `\`. */
export function quoteEnd(text: string, i: number, q: number, backslash: boolean): number {
  const n = text.length
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j)
    if (backslash && c === BACKSLASH) j++
    else if (c === q) {
      if (text.charCodeAt(j + 1) === q) j++
      else return j + 1
    }
  }
  return n
}

/** Past the word (`[A-Za-z_]\w*`) starting at `i`. */
export function wordEnd(text: string, i: number): number {
  let j = i + 1
  while (isIdent(text.charCodeAt(j))) j++
  return j
}

/** Past the letters starting at `i`, at most `max` of them. */
export function lettersEnd(text: string, i: number, max: number): number {
  let j = i
  while (j < i + max && isLetter(text.charCodeAt(j))) j++
  return j
}
