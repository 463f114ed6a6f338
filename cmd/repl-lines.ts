/**
 * Whether a prompt's cell goes on to a `...` line. Brackets, colons and keywords count only in
 * code: inside a string or a comment they are text (`print("sad :(")`, `x = 1  # note:` waited
 * on `...` for an empty line, and took every line typed meanwhile into the same cell). A string
 * or comment that may span lines and is left open goes on too (`"""`, a template literal).
 */

interface Quote {
  open: string
  close: string
  /** May span lines (a one-line string left open ends at its line: the language says the error). */
  lines: boolean
  /** A backslash takes the next character. */
  escapes: boolean
}

interface Syntax {
  lineComments: string[]
  /** `#` starts a comment only at the start of a word (bash: `a#b`, `$#`, `${#x}` are not). */
  commentAtWord?: boolean
  block?: [string, string]
  quotes: Quote[]
  /** A backslash outside strings takes the next character (bash's `\(`). */
  escapesOutside?: boolean
  /** `/` where a value starts opens a regex literal (javascript's `/[(]/`), `/` after one divides. */
  regex?: boolean
}

const q = (open: string, lines: boolean, escapes = true, close = open): Quote => ({ open, close, lines, escapes })
const C_LIKE = { lineComments: ['//'], block: ['/*', '*/'] as [string, string] }

const SYNTAX: Record<string, Syntax> = {
  python: { lineComments: ['#'], quotes: [q('"""', true), q("'''", true), q('"', false), q("'", false)] },
  javascript: { ...C_LIKE, regex: true, quotes: [q('`', true), q('"', false), q("'", false)] },
  typescript: { ...C_LIKE, regex: true, quotes: [q('`', true), q('"', false), q("'", false)] },
  java: { ...C_LIKE, quotes: [q('"""', true), q('"', false), q("'", false)] },
  go: { ...C_LIKE, quotes: [q('`', true, false), q('"', false), q("'", false)] },
  bash: {
    lineComments: ['#'],
    commentAtWord: true,
    escapesOutside: true,
    quotes: [q("$'", true, true, "'"), q("'", true, false), q('"', true), q('`', true)],
  },
  // '' inside a string is a closed string and an open one: the same text.
  sql: { lineComments: ['--'], block: ['/*', '*/'], quotes: [q("'", true, false), q('"', true, false)] },
}
/** Whether the prompt has a rule of its own for `language` (a Jupyter kernel's language has none: its kernel is asked). */
export const hasRule = (language: string): boolean => Object.hasOwn(SYNTAX, language)

/** A language execd knows no more of (a Jupyter kernel's): strings of either quote, no comments. */
const PLAIN: Syntax = { lineComments: [], quotes: [q('"', false), q("'", false)] }

/** Where a bash word starts, for `#` (`${#x}` and `{#` are words, not comments). */
const WORD_START = /[\s;&|()]/

/** The text with strings and comments taken out (a string stands as a space), and whether one is left open. */
export function codeOf(text: string, language: string): { code: string; open: boolean } {
  const syntax = SYNTAX[language] ?? PLAIN
  let code = ''
  // What a `/` asks of the code before it, kept as it grows: asked of `code` itself (trimmed and
  // matched at each `/`), a pasted minified line of 40,000 `/` took 5 s, 160,000 took 80.
  const tail = syntax.regex ? new Tail() : undefined
  let i = 0
  while (i < text.length) {
    if (syntax.escapesOutside && text[i] === '\\' && i + 1 < text.length) {
      code += '  '
      tail?.add(' ')
      i += 2
      continue
    }
    const comment = syntax.lineComments.find(
      c => text.startsWith(c, i) && (!syntax.commentAtWord || i === 0 || WORD_START.test(text[i - 1]!)),
    )
    if (comment) {
      const end = text.indexOf('\n', i)
      if (end < 0) break
      i = end
      continue
    }
    if (syntax.block && text.startsWith(syntax.block[0], i)) {
      const end = text.indexOf(syntax.block[1], i + syntax.block[0].length)
      if (end < 0) return { code, open: true }
      code += ' '
      tail?.add(' ')
      i = end + syntax.block[1].length
      continue
    }
    const quote = syntax.quotes.find(s => text.startsWith(s.open, i))
    if (quote) {
      const end = closing(text, i + quote.open.length, quote)
      if (end < 0) return { code: `${code} `, open: quote.lines }
      code += ' '
      tail?.add(' ')
      i = end
      continue
    }
    if (tail && text[i] === '/' && tail.valueStarts()) {
      const end = regexEnd(text, i + 1)
      if (end > 0) {
        code += ' '
        tail?.add(' ')
        i = end
        continue
      }
    }
    code += text[i]
    tail?.add(text[i]!)
    i++
  }
  return { code, open: false }
}

/** Words after which a javascript value starts (`return /x/`); after any other word, `/` divides. */
const BEFORE_VALUE = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
])

/** The end of the code so far, for javascript's `/`: its last character but spaces, and the word that ends it. */
class Tail {
  private last = ''
  private word = ''
  private inWord = false

  add(ch: string): void {
    if (/\s/.test(ch)) {
      this.inWord = false
      return
    }
    if (/[\w$]/.test(ch)) {
      // No keyword is longer than 10: a longer word is kept at 11 characters, none of them.
      this.word = !this.inWord ? ch : this.word.length > 10 ? this.word : this.word + ch
      this.inWord = true
    } else {
      this.word = ''
      this.inWord = false
    }
    this.last = ch
  }

  /** Whether a value starts here (so `/` opens a regex): at the start, after an operator or an opening, or a keyword. */
  valueStarts(): boolean {
    return this.last === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(this.last) || BEFORE_VALUE.has(this.word)
  }
}

/** The longest regex literal looked for: each `/` scanned its whole line, `/[/[/[…` in n² steps. */
const MAX_REGEX = 256

/** Past the `/` closing a regex literal whose text starts at `from` (its flags are code), or -1: none on its line (or within MAX_REGEX). */
function regexEnd(text: string, from: number): number {
  let inClass = false
  for (let j = from; j < text.length && j - from < MAX_REGEX; j++) {
    const ch = text[j]
    if (ch === '\\') j++
    else if (ch === '\n') return -1
    else if (ch === '[') inClass = true
    else if (ch === ']') inClass = false
    else if (ch === '/' && !inClass) return j + 1
  }
  return -1
}

/** Where the string whose text starts at `from` ends (past its close), or -1 while it is open. */
function closing(text: string, from: number, quote: Quote): number {
  for (let j = from; j < text.length; j++) {
    if (quote.escapes && text[j] === '\\') j++
    else if (!quote.lines && text[j] === '\n') return j
    else if (text.startsWith(quote.close, j)) return j + quote.close.length
  }
  return -1
}

/** bash's compound commands, open until their end word. */
const BASH_OPENS = new Set(['if', 'for', 'while', 'until', 'case', 'select'])
const BASH_CLOSES = new Set(['fi', 'done', 'esac'])
/** Words after which the next word is a command again (`then for …`, `; done`). */
const BASH_COMMAND_AFTER = new Set(['then', 'do', 'else', 'elif', '&&', '||', '|', ';', '&', '(', '{', '!'])

function bashDepth(code: string): number {
  let depth = 0
  let command = true
  for (const word of code.split(/\s+|(?=[;&|(){}])|(?<=[;&|(){}])/).filter(Boolean)) {
    if (command && BASH_OPENS.has(word)) depth++
    else if (command && BASH_CLOSES.has(word)) depth--
    command = BASH_COMMAND_AFTER.has(word) || BASH_OPENS.has(word) || BASH_CLOSES.has(word)
  }
  return depth
}

/**
 * Whether the cell typed so far goes on: once it has a second line, until an empty one; a first
 * line that opens a block (`:` at its end), leaves a bracket, string or comment open, or ends in
 * `\`; bash's `if`/`for`/`while`/`case` before their `fi`/`done`/`esac`. sql's statement goes on
 * until its `;` (or an empty line), as sqlite3's, psql's and mysql's prompts read it: `select *`
 * and `from t;` on two lines were two statements, both errors.
 */
export function continues(lines: string[], language: string): boolean {
  const last = (lines.at(-1) ?? '').trimEnd()
  // Asked at each line: the whole cell is read again only where its answer may change (a
  // 5,000-line paste read whole at each line took 38 s).
  if (lines.length > 1 && (language === 'sql' ? !last.includes(';') : last !== '')) return true
  const { code, open } = codeOf(lines.join('\n'), language)
  if (open) return true
  const end = code.trimEnd()
  if (language === 'sql') return end.trim() !== '' && !end.endsWith(';')
  if (end.endsWith(':') || end.endsWith('\\')) return true
  let depth = 0
  for (const ch of code) {
    if ('([{'.includes(ch)) depth++
    else if (')]}'.includes(ch)) depth--
  }
  return depth > 0 || (language === 'bash' && bashDepth(code) > 0)
}

/**
 * Whether an empty line typed on `...` ends the cell so far: after a block's lines (sql's too,
 * a statement typed without its `;`), but not inside a string left open (python's docstring may
 * hold one).
 */
export function endsCell(lines: string[], language: string): boolean {
  return (lines.length > 1 || language === 'sql') && !codeOf(lines.join('\n'), language).open
}
