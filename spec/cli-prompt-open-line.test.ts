/**
 * A cell at a prompt whose last output has no newline (`print('abc', end='')`, bash's `printf
 * abc`, a `\r` progress line): on main's build the next prompt, which readline draws from the
 * first column, erased it, and the cell seemed to print nothing. The line is ended now, as
 * IPython ends it. Skipped where tmux (or, for the python prompt, python) is missing.
 */
import { afterAll, beforeAll, describe, test } from 'bun:test'
import { BIN } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'
import { pythonAvailable } from './python-env'

let term: Terminal
beforeAll(() => {
  term = terminal('execd-open-line')
})
afterAll(() => term.close())

const prompts = [
  { language: 'bash', skip: false, cell: "printf '%s' 'ab''c'; printf 'err''or' >&2" },
  {
    language: 'python',
    skip: pythonAvailable !== true,
    cell: "print('ab' + 'c', end=''); import sys; print('err' + 'or', end='', file=sys.stderr)",
  },
]

describe.skipIf(!hasTool('tmux'))('a cell that leaves its line open, at a prompt (tmux)', () => {
  for (const { language, skip, cell } of prompts)
    test.skipIf(skip)(
      `${language}: its output stays on the screen, the prompt on the next line`,
      async () => {
        term.shell()
        term.keys(`${BIN} exec ${language}; echo "status $?"`, 'Enter')
        await term.shows(new RegExp(`^${language}>`, 'm'))
        term.keys(cell, 'Enter')
        // The two streams share the terminal: whatever their order, both stay, and the prompt follows.
        await term.shows(new RegExp(`^(abcerror|errorabc)\\n${language}>\\s*$`, 'm'))
        term.keys('C-d')
        await term.shows(/^status 0$/m)
      },
      60_000,
    )
})
