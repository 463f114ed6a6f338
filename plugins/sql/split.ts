/**
 * Splits a cell into statements at top-level semicolons, the way each database's own shell
 * reads them: quotes, comments, PostgreSQL dollar quotes, MySQL backslash escapes and `#`
 * comments, SQLite bracket identifiers, and the BEGIN…END body of a CREATE TRIGGER (whose
 * inner semicolons belong to the trigger). Drivers prepare one statement at a time, and
 * bun:sqlite silently ignores whatever follows the first one.
 */
export type Dialect = 'sqlite' | 'postgres' | 'mysql'

export function splitStatements(text: string, dialect: Dialect): string[] {
  const out: string[] = []
  let start = 0
  let depth = 0
  let i = 0
  const n = text.length
  const push = (end: number) => {
    const stmt = text.slice(start, end).trim()
    if (stmt && !onlyComments(stmt, dialect)) out.push(stmt)
  }
  while (i < n) {
    const c = text.charAt(i)
    const next = text.charAt(i + 1)
    if (c === '-' && next === '-') i = lineEnd(text, i)
    else if (c === '#' && dialect === 'mysql') i = lineEnd(text, i)
    else if (c === '/' && next === '*') i = blockEnd(text, i)
    else if (c === "'" || c === '"' || (c === '`' && dialect !== 'postgres'))
      i = quoteEnd(text, i, c, dialect === 'mysql' || (c === "'" && dialect === 'postgres' && escapeString(text, i)))
    else if (c === '[' && dialect === 'sqlite') i = text.indexOf(']', i) < 0 ? n : text.indexOf(']', i) + 1
    else if (c === '$' && dialect === 'postgres' && dollarTag(text, i)) {
      const tag = dollarTag(text, i)!
      const close = text.indexOf(tag, i + tag.length)
      i = close < 0 ? n : close + tag.length
    } else if (/[A-Za-z_]/.test(c) && (i === 0 || !/[\w$]/.test(text.charAt(i - 1)))) {
      const word = /^[A-Za-z_]\w*/.exec(text.slice(i, i + 64))![0]
      // The head is bounded so a long cell stays linear.
      if (isTrigger(text.slice(start, Math.min(i + word.length, start + 512)))) {
        const w = word.toUpperCase()
        if (w === 'BEGIN' || w === 'CASE') depth++
        else if (w === 'END' && depth > 0) depth--
      }
      i += word.length
    } else if (c === ';' && depth === 0) {
      push(i)
      start = ++i
    } else i++
  }
  push(n)
  return out
}

/**
 * Whether a statement's head starts a CREATE TRIGGER, past its leading comments. The comments
 * are skipped by hand: as one regex, `(?:comment\s*)*` could split a run of k empty block
 * comments into comments in 2^k ways, each tried when no CREATE followed — a 121-byte sql cell
 * held execd's event loop 4.2 s, one of 161 bytes for hours.
 */
function isTrigger(head: string): boolean {
  let i = 0
  for (;;) {
    while (i < head.length && /\s/.test(head.charAt(i))) i++
    if (head.startsWith('--', i)) {
      const nl = head.indexOf('\n', i)
      if (nl < 0) return false
      i = nl + 1
    } else if (head.startsWith('/*', i)) {
      const close = head.indexOf('*/', i + 2)
      if (close < 0) return false
      i = close + 2
    } else break
  }
  return /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(head.slice(i))
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

function onlyComments(stmt: string, dialect: Dialect): boolean {
  const pattern = dialect === 'mysql' ? /--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\// : /--[^\n]*|\/\*[\s\S]*?\*\//
  return stmt.replace(new RegExp(pattern, 'g'), '').trim() === ''
}

/** The statement's first keyword, upper-cased, past leading comments and parentheses. */
export function firstKeyword(stmt: string): string {
  const bare = stmt.replace(/^(?:\s|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*/, '')
  return /^[A-Za-z]+/.exec(bare)?.[0].toUpperCase() ?? ''
}
