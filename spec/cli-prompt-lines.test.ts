/**
 * Where a prompt's cell ends, typed at a terminal as a person types: a line at a time, each
 * after its prompt. Brackets and colons inside strings and comments are text, and sql's
 * statement ends at its `;`, as sqlite3's and psql's prompts read it. Skipped where tmux is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BIN, waitFor } from './harness'
import { pythonAvailable } from './python-env'
import { hasTool, terminal, type Terminal } from './kit/tmux'

let term: Terminal

beforeAll(() => {
  term = terminal('execd-prompt-lines')
})
afterAll(() => term.close())

/** Opens `language`'s prompt in a fresh, cleared shell. */
async function prompt(language: string): Promise<void> {
  term.shell()
  term.keys(`clear; ${BIN} exec ${language}`, 'Enter')
  await term.shows(new RegExp(`^${language}>`, 'm'))
}

/** Types `line` once the screen's last prompt is `after` (capture-pane trims its trailing space). */
async function type(line: string, after: string): Promise<void> {
  await term.shows(new RegExp(`^${after.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').trimEnd()}\\s*$(?![\\s\\S]*\\S)`, 'm'))
  const before = term.screen()
  // tmux reads an argument ending in `;` as the end of its command: `\;` is the character.
  term.keys('-l', line.replace(/;$/, '\\;'))
  term.keys('Enter')
  // Until the line is on the screen: the next type() took the prompt still bare above it for a
  // new one and typed ahead (`x = 6` shown under `print("sad :(")`, 1 run in 4 at load 6).
  await waitFor(`the screen to show ${JSON.stringify(line)} typed`, () => term.screen() !== before)
}

describe.skipIf(!hasTool('tmux'))('a prompt’s cell ends where the language says (tmux)', () => {
  test.skipIf(pythonAvailable !== true)(
    'python: a bracket or a colon in a string or a comment is text',
    async () => {
      await prompt('python')
      // Each waited on `...` for an empty line, taking the next line typed into its cell.
      await type('print("sad :(")', 'python>')
      await type('x = 6  # the answer follows:', 'python>')
      await type('print(x * 7)', 'python>')
      await term.shows(/^42\npython>\s*$/m)
      expect(term.screen()).toMatch(
        /^python> print\("sad :\("\)\nsad :\(\npython> x = 6 {2}# the answer follows:\npython> /m,
      )
      expect(term.screen()).not.toContain('...')
    },
    60_000,
  )

  test.skipIf(pythonAvailable !== true)(
    'lines pasted at the prompt are shown once each, after their prompt',
    async () => {
      await prompt('python')
      // One send is one read, as a paste is: readline echoed the lines after the first bare, then
      // each came again after its prompt.
      term.keys('-l', ['print(1)', 'def f():', '  return 7', '', 'f()', ''].join('\r'))
      await term.shows(/^7\npython>\s*$/m)
      expect(term.screen()).toContain(
        'python> print(1)\n1\npython> def f():\n...   return 7\n...\npython> f()\n7\npython>',
      )
    },
    60_000,
  )

  test('sql: a statement typed over lines runs at its `;`', async () => {
    await prompt('sql')
    // `select *` ran alone (`incomplete input`), then `from t` (`near "from": syntax error`).
    await type("create table t(a, b); insert into t values (1, 'x;y');", 'sql>')
    await type('select *', 'sql>')
    await type('from t', '...')
    await type('where a = 1;', '...')
    await term.shows(/^\(1 row\)\nsql>\s*$/m)
    expect(term.screen()).toMatch(
      /^sql> select \*\n\.\.\. from t\n\.\.\. where a = 1;\na {2}b\n- {2}---\n1 {2}x;y\n\(1 row\)$/m,
    )
    expect(term.screen()).not.toContain('Error')
    // Typed without its `;`, an empty line runs it.
    await type('select 2 as two', 'sql>')
    await type('', '...')
    await term.shows(/^two\n---\n {2}2\n\(1 row\)\nsql>\s*$/m)
  }, 60_000)

  test('sql: an error is said under the statement typed, not with it again', async () => {
    await prompt('sql')
    // `selec 1` came back on its own line above the error's code, as if it were output.
    await type('selec 1;', 'sql>')
    await term.shows(/syntax error\nsql>\s*$/m)
    await type('select 1 +', 'sql>')
    await type('from;', '...')
    await term.shows(/^\.\.\. from;\n[\s\S]*syntax error\nsql>\s*$/m)
    expect(term.screen()).toMatch(
      /^sql> selec 1;\ncode: SQLITE_ERROR \(1\)\nDBExecError: near "selec": syntax error\nsql> select 1 \+\n\.\.\. from;\ncode: SQLITE_ERROR \(1\)\nDBQueryError: near "from": syntax error\nsql>\s*$/m,
    )
  }, 60_000)

  test('javascript: a bracket in a regex literal is text', async () => {
    await prompt('javascript')
    // Each waited on `...` for an empty line.
    await type("console.log('a(b'.split(/[(]/).join('+'))", 'javascript>')
    await term.shows(/^a\+b\njavascript>\s*$/m)
    await type('const half = 84 / 2; console.log(/\\{/.test("{") && half)', 'javascript>')
    await term.shows(/^42\njavascript>\s*$/m)
    expect(term.screen()).not.toContain('...')
  }, 60_000)
})
