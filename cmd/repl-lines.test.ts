import { describe, expect, test } from 'bun:test'
import { codeOf, continues } from './repl-lines'

/** [language, the lines typed so far, whether a `...` line follows] */
const CASES: [string, string[], boolean][] = [
  // Text, not code: each ran nothing and waited for an empty line.
  ['python', ['print("sad :(")'], false],
  ['python', ['x = 1  # note:'], false],
  ['python', ["d = {'k': '{'}"], false],
  ['javascript', ['console.log("a {")'], false],
  ['javascript', ['let x = 1 // todo: ('], false],
  ['typescript', ['const s: string = "a {"'], false],
  ['go', ["fmt.Println('(')"], false],
  ['java', ['System.out.println("(")'], false],
  ['bash', ['echo "a (b"'], false],
  ['bash', ['echo a\\(b'], false],
  ['bash', ['echo it is # a comment ('], false],
  ['bash', ['echo ${#x} a#b'], false],
  ['bash', ['echo for done'], false],
  // A regex literal is text too: each waited on `...`.
  ['javascript', ["'a(b'.split(/[(]/)"], false],
  ['javascript', ['const re = /\\(/'], false],
  ['typescript', ['const re: RegExp = /[{]/g'], false],
  ['javascript', ['if (/[[]/.test(s)) x()'], false],
  ['javascript', ['return /a[/]b(/'], false],
  // `/` after a value divides: what follows is code.
  ['javascript', ['let h = w / 2 + (a / b'], true],
  ['javascript', ['f(x) / g('], true],
  // Blocks, brackets and strings left open, as before and now strings too.
  ['python', ['def f():'], true],
  ['python', ['print('], true],
  ['python', ['s = """one'], true],
  ['python', ['s = """one', '', 'two"""'], true],
  ['python', ['x = 1 + \\'], true],
  ['javascript', ['let t = `one'], true],
  ['javascript', ['/* a comment', 'going on'], true],
  ['go', ['s := `raw'], true],
  ['bash', ["echo 'one"], true],
  ['bash', ['for i in 1 2'], true],
  ['bash', ['if true; then'], true],
  ['bash', ['while true; do echo; done'], false],
  ['bash', ['f() {'], true],
  ['bash', ['case x in a) echo a;; esac'], false],
  // A second line goes on until an empty one.
  ['python', ['def f():', '  return 1'], true],
  ['python', ['def f():', '  return 1', ''], false],
  // sql: until the statement's `;`, as sqlite3's and psql's prompts read it.
  ['sql', ['select'], true],
  ['sql', ['select *', 'from t;'], false],
  ['sql', ['select *', 'from t'], true],
  ['sql', ["select 'a", 'b;'], true],
  ['sql', ['select 1;'], false],
  ['sql', ["select ';' as s"], true],
  ['sql', ["select 'it''s';"], false],
  ['sql', ['select 1; -- done'], false],
  ['sql', ["insert into t values ('one", "two');"], false],
  // A language execd knows no more of: brackets outside either quote.
  ['r', ['print("(")'], false],
  ['r', ['f <- function(x) {'], true],
]

describe('continues', () => {
  for (const [language, lines, goesOn] of CASES)
    test(`${language}: ${JSON.stringify(lines)} ${goesOn ? 'goes on' : 'ends'}`, () => {
      expect(continues(lines, language)).toBe(goesOn)
    })
})

test('codeOf takes strings and comments out, and says one is left open', () => {
  expect(codeOf('a = "(" # )', 'python')).toEqual({ code: 'a =   ', open: false })
  expect(codeOf("x = '''(", 'python')).toEqual({ code: 'x =  ', open: true })
  expect(codeOf('a /* ( */ b', 'go')).toEqual({ code: 'a   b', open: false })
})

test('a pasted minified line of many `/` is read in one pass, its regex literals still found', () => {
  // Each `/` trimmed and matched the whole code before it, and `/[` scanned the rest of its line:
  // 160,000 divisions took 80 s at the prompt (this test's 5 s limit is the bound), `/[/[/[…` as long.
  const divisions = `x = ${'1/'.repeat(160_000)}1`
  expect(codeOf(divisions, 'javascript')).toEqual({ code: divisions, open: false })
  const classes = `f(${'/['.repeat(80_000)})`
  expect(codeOf(classes, 'javascript').open).toBe(false)
  expect(codeOf('return /[(]/.test(s) ? a / b : 0', 'javascript').code).toBe('return  .test(s) ? a / b : 0')
})
