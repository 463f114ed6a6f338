/**
 * The prompt of a language only a Jupyter kernel speaks, at a terminal: where its cell ends is
 * the kernel's to say (is_complete_request), as the prompt has no rule for the language. Here
 * 'snake', a kernelspec of the real ipykernel, whose python the prompt reads only as quotes and
 * brackets. And the banner in a locale that is not UTF-8. Skipped where tmux or Jupyter is missing.
 */
import { afterAll, beforeAll, describe, test } from 'bun:test'
import { jupyterMissing, startJupyter, type TestJupyter } from '../plugins/jupyter/test-server'
import { BIN } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'

const missing = await jupyterMissing()
const jupyter: TestJupyter | null = missing || !hasTool('tmux') ? null : await startJupyter({ snake: 'snake' })
let term: Terminal

beforeAll(() => {
  term = terminal('execd-prompt-kernel')
})
afterAll(async () => {
  term.close()
  await jupyter?.stop()
}, 30_000)

describe.skipIf(!hasTool('tmux'))('at a terminal (tmux)', () => {
  test.skipIf(!jupyter)(
    `a kernel's block goes on to '...' as the kernel says, and ends at the empty line it says ends it${missing ? ` (skipped: ${missing})` : ''}`,
    async () => {
      // The plain rule ran `def f(x):  # doubles` alone (its `:` is not the line's end), and an
      // empty line inside a ''' string ended the cell there: both a SyntaxError.
      term.shell()
      term.keys(
        `JUPYTER_HOST=${jupyter!.url} JUPYTER_TOKEN=${jupyter!.token} ${BIN} exec snake; echo "status $?"`,
        'Enter',
      )
      await term.shows(/^snake>/m, 60_000)
      term.keys('def f(x):  # doubles', 'Enter')
      await term.shows(/^\.\.\.\s*$/m)
      term.keys('    return x * 2', 'Enter')
      term.keys('', 'Enter')
      term.keys("s = '''a", 'Enter')
      term.keys('', 'Enter')
      term.keys("b'''", 'Enter')
      term.keys('', 'Enter')
      term.keys('print(f(21), len(s), "done")', 'Enter')
      await term.shows(/^42 4 done$/m)
      term.keys('C-d')
      await term.shows('status 0')
      if (/Error/.test(term.screen(true))) throw new Error(`an error at the prompt:\n${term.screen(true)}`)
    },
    120_000,
  )

  test('the banner is ASCII where the locale is not UTF-8', async () => {
    term.shell()
    term.keys(`LC_ALL=C ${BIN} exec bash; echo "status $?"`, 'Enter')
    await term.shows(/^execd bash - Ctrl-C interrupts, Ctrl-D exits$/m)
    term.keys('C-d')
    await term.shows('status 0')
  }, 120_000)
})
