/**
 * The compound statements whose bodies hold semicolons of their own, so the splitter
 * (split.ts) does not cut there: MariaDB/MySQL stored programs (CREATE PROCEDURE, FUNCTION,
 * TRIGGER, EVENT, PACKAGE), `BEGIN NOT ATOMIC` and MariaDB's top-level IF, CASE, LOOP, REPEAT,
 * WHILE and FOR; PostgreSQL's SQL-standard `BEGIN ATOMIC … END` bodies; SQLite's CREATE
 * TRIGGER … BEGIN … END. One instance follows one statement, fed its words and punctuation.
 */
import { isSpace, lineComment } from './lex'
import type { Dialect } from './split'

/** Whether a statement's head (past its leading comments, at most 512 characters) opens a body. */
const HEADS: Record<Dialect, RegExp> = {
  sqlite: /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i,
  postgres: /^CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\b/i,
  // Each alternative of the DEFINER value starts with its own character, so it cannot backtrack.
  mysql:
    /^(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*(?:[^\s'"`]|'[^']*'|"[^"]*"|`[^`]*`)+\s+)?(?:AGGREGATE\s+)?(?:PROCEDURE|FUNCTION|TRIGGER|EVENT|PACKAGE)\b|(?:\w+\s*:\s*)?(?:BEGIN\s+NOT\s+ATOMIC|IF|CASE|LOOP|REPEAT|WHILE|FOR)\b)/i,
}

/** Blocks a MySQL statement list opens where a statement starts, each closed by `END <its word>`. */
const LOOPS = new Set(['IF', 'LOOP', 'REPEAT', 'WHILE', 'FOR'])
/** What a MySQL statement list's statement comes after (`''`: the cell's statement itself). */
const STARTS = new Set(['', ';', 'BEGIN', 'ATOMIC', 'DO', 'LOOP', 'REPEAT', ':', 'ROW'])

/**
 * A stored routine's head past its parameters (RETURNS and its type, the characteristics); the
 * first other word starts its body, which need not be a BEGIN (`… p() IF x THEN …; END IF`).
 */
const CHARACTERISTICS = new Set([
  'RETURNS',
  // A type's second word: DOUBLE PRECISION, CHAR VARYING, NATIONAL CHAR, LONG VARCHAR.
  'PRECISION',
  'VARYING',
  'CHAR',
  'VARCHAR',
  'VARBINARY',
  'UNSIGNED',
  'SIGNED',
  'ZEROFILL',
  'BINARY',
  'ASCII',
  'UNICODE',
  'CHARSET',
  'CHARACTER',
  'COLLATE',
  'NOT',
  'DETERMINISTIC',
  'LANGUAGE',
  'SQL',
  'CONTAINS',
  'NO',
  'READS',
  'MODIFIES',
  'DATA',
  'SECURITY',
  'DEFINER',
  'INVOKER',
  'COMMENT',
])
/** Characteristics followed by a name: the function's type, a character set, a collation. */
const NAMED = new Set(['RETURNS', 'CHARSET', 'COLLATE'])

/** Words after which an expression wants a value, so an `end` there is a name. */
const OPERAND = new Set(['CASE', 'WHEN', 'THEN', 'ELSE', 'AND', 'OR', 'NOT', 'IS', 'LIKE', 'IN', 'BETWEEN'])

export class Blocks {
  /**
   * Open blocks, innermost last: BEGIN, a statement CASE, a LOOPS word, EXPR (a CASE
   * expression), AS (an Oracle-mode package's) or DECLARE (an Oracle-mode routine's
   * declarations, up to its BEGIN). It grows by one per word read, so the cell's size (the
   * body cap) bounds it.
   */
  private open: string[] = []
  private parens = 0
  /**
   * Past a DECLARE … HANDLER's FOR (2): its statement starts after a condition list that ends
   * in any word, number or string, so its first block word there opens a block.
   */
  private handler = 0
  /**
   * Where a MySQL CREATE PROCEDURE, FUNCTION or PACKAGE is: 'name' up to its parameters (a
   * package, or an Oracle-mode routine without any, up to its AS or IS), 'head' past them,
   * 'body' once its body starts; '' for any other statement.
   */
  private routine: '' | 'create' | 'name' | 'head' | 'body' = ''
  private pkg = false
  /** In a routine's head, the next word is a name (the RETURNS type, a character set). */
  private nameNext = false
  /**
   * A MySQL trigger's `FOR EACH ROW FOLLOWS|PRECEDES name`: 1 while its name is read (a word,
   * a quoted name, dotted parts), 2 once read, when the next word starts the body (`IF …`).
   */
  private order = 0
  /** The last word (upper-cased) or punctuation character read. */
  prev = ''

  constructor(private dialect: Dialect) {}

  /** Follows a MySQL routine's head by its words; whether `w` is the first of its body. */
  private routineWord(w: string): boolean {
    if (this.routine === '' && this.prev === '' && w === 'CREATE') this.routine = 'create'
    else if (this.routine === 'create' && (w === 'PROCEDURE' || w === 'FUNCTION' || w === 'PACKAGE')) {
      this.routine = 'name'
      this.pkg = w === 'PACKAGE'
    } else if (this.routine === 'head' && this.parens === 0) {
      if (this.nameNext) this.nameNext = false
      // Oracle mode's RETURN <type> where MySQL has RETURNS; a RETURN elsewhere is a statement.
      else if (
        CHARACTERISTICS.has(w) ||
        (w === 'RETURN' && this.prev === ')') ||
        (w === 'SET' && this.prev === 'CHARACTER')
      )
        this.nameNext = NAMED.has(w) || w === 'SET' || w === 'RETURN'
      else if (w === 'AS' || w === 'IS') this.routine = 'name'
      else {
        this.routine = 'body'
        return true
      }
    }
    return false
  }

  /** Follows a trigger's FOLLOWS/PRECEDES by its words; whether `w` is the first of its body. */
  private orderWord(w: string, dotAfter: boolean): boolean {
    const body = this.order === 2
    if (this.prev === 'ROW' && (w === 'FOLLOWS' || w === 'PRECEDES') && this.open.length === 0) this.order = 1
    else if (this.order === 1) this.order = dotAfter ? 1 : 2
    else this.order = 0
    return body
  }

  static opens(head: string, dialect: Dialect): boolean {
    return HEADS[dialect].test(skipComments(head, dialect))
  }

  get depth(): number {
    return this.open.length
  }

  punct(c: string): void {
    if (c === '(') this.parens++
    else if (c === ')' && this.parens > 0) {
      if (--this.parens === 0 && this.routine === 'name' && this.open.length === 0) this.routine = 'head'
    } else if (c === ';') this.handler = 0
    if (this.order === 1 && c === "'") this.order = 2
    else if (this.order === 2 && c === '.') this.order = 1
    else if (this.order === 2) this.order = 0
    // A routine's head holds no punctuation but its strings (COMMENT 'x'): this starts the body.
    if (this.routine === 'head' && this.parens === 0 && c !== "'" && c !== '(' && c !== ')') this.routine = 'body'
    this.prev = c
  }

  /**
   * Takes a word; `next` reads the word after it (upper-cased, '' if none). Returns how many
   * characters past this word were taken too: the IF of an `END IF`, which opens nothing.
   */
  word(w: string, next: () => { word: string; skip: number }, dotAfter: boolean): number {
    const top = this.open.at(-1)
    const mysql = this.dialect === 'mysql'
    const handled = this.handler === 2 && (w === 'BEGIN' || w === 'CASE' || LOOPS.has(w))
    if (handled) this.handler = 0
    const bodyAt = mysql && (this.routineWord(w) || this.orderWord(w, dotAfter))
    if (this.routine === 'name' && (w === 'AS' || w === 'IS') && this.parens === 0 && this.open.length === 0) {
      // Oracle mode (MariaDB): a package's AS … END; a routine's AS, declarations up to its BEGIN.
      this.open.push(this.pkg ? 'AS' : 'DECLARE')
      this.routine = 'body'
    }
    // In a package's body, each routine's `AS BEGIN`.
    const inPackage = top === 'AS' && (this.prev === 'AS' || this.prev === 'IS')
    const atStart =
      handled ||
      bodyAt ||
      inPackage ||
      (mysql && (STARTS.has(this.prev) || ((this.prev === 'THEN' || this.prev === 'ELSE') && top !== 'EXPR')))
    let taken = 0
    if (mysql && w === 'HANDLER' && top) this.handler = 1
    else if (w === 'FOR' && this.handler === 1) this.handler = 2
    else if (w === 'BEGIN') {
      // Outside a body, the one BEGIN that opens it (PostgreSQL's only with ATOMIC); a word
      // `begin` inside one is a name, but for MySQL's nested blocks where a statement starts.
      const body = this.open.length === 0 && this.parens === 0
      if (top === 'DECLARE') this.open[this.open.length - 1] = 'BEGIN'
      else if ((body && (this.dialect !== 'postgres' || next().word === 'ATOMIC')) || (atStart && !body))
        this.open.push('BEGIN')
    } else if (w === 'CASE') this.open.push(atStart ? 'CASE' : 'EXPR')
    else if (atStart && LOOPS.has(w)) this.open.push(w)
    else if (w === 'END' && top && this.prev !== '.' && !dotAfter) {
      if (top === 'EXPR') {
        // A CASE expression's END follows a value; after an operator it is a column's name.
        if (!OPERAND.has(this.prev) && !/^[^\w'")`\]]$/.test(this.prev)) this.open.pop()
      } else {
        // A statement list's END follows its last statement's `;` (or an empty BEGIN), or
        // names its block (REPEAT … UNTIL x END REPEAT); elsewhere `end` is a column's name.
        const after = mysql ? next() : { word: '', skip: 0 }
        const named = after.word === top
        const empty =
          (this.prev === 'BEGIN' && top === 'BEGIN') || ((this.prev === 'AS' || this.prev === 'IS') && top === 'AS')
        if (this.prev === ';' || empty || named) {
          this.open.pop()
          if (named || (mysql && LOOPS.has(after.word))) taken = after.skip
        }
      }
    }
    this.prev = w
    return taken
  }
}

/**
 * A head past its leading comments, skipped by hand: as one regex, `(?:comment\s*)*` could split
 * a run of k empty block comments into comments in 2^k ways, each tried when no CREATE followed
 * — a 121-byte sql cell held execd's event loop 4.2 s, one of 161 bytes for hours.
 */
function skipComments(head: string, dialect: Dialect): string {
  let i = 0
  for (;;) {
    while (i < head.length && isSpace(head.charCodeAt(i))) i++
    if (lineComment(head, i, dialect)) {
      const nl = head.indexOf('\n', i)
      if (nl < 0) return ''
      i = nl + 1
    } else if (head.startsWith('/*', i)) {
      const close = head.indexOf('*/', i + 2)
      if (close < 0) return ''
      i = close + 2
    } else return head.slice(i)
  }
}
