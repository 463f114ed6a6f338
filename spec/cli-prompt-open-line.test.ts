/**
 * A cell at a prompt whose last output has no newline (`print('abc', end='')`, bash's `printf
 * abc`, a `\r` progress line): on main's build the next prompt, which readline draws from the
 * first column, erased it, and the cell seemed to print nothing. The line is ended now, as
 * IPython ends it. Skipped where tmux (or, for the python prompt, python) is missing.
 * An `execd:` line said after such a line (a timeout, a stop the daemon has not answered) was
 * written onto its row, `abcexecd: timed out after 1000 ms`: it is on a row of its own now.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BIN, runCli } from './harness'
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

/** A bash cell that leaves its line open, stopped by --timeout (the CLI's own line follows). */
const openCell = ['exec', '--timeout', '1000', 'bash', "printf '%s' 'ab''c'; sleep 30"]
const timedOut = 'execd: timed out after 1000 ms (the cell was interrupted)\n'

describe.skipIf(!hasTool('tmux'))('an execd line after a cell that left its line open (tmux)', () => {
  test("the line is on a row of its own, under the cell's output", async () => {
    term.shell()
    term.keys(`${BIN} ${openCell.map(w => `'${w.replaceAll("'", "'\\''")}'`).join(' ')}; echo "status $?"`, 'Enter')
    await term.shows(/^status 124$/m)
    expect(term.screen()).toMatch(/^abc\nexecd: timed out after 1000 ms \(the cell was interrupted\)\nstatus 124$/m)
  }, 60_000)
})

test('2>&1 into one pipe ends the open line first; stdout apart is left as the cell wrote it', async () => {
  const both = Bun.spawn(['sh', '-c', 'exec "$0" "$@" 2>&1', BIN, ...openCell], { stdout: 'pipe', stderr: 'pipe' })
  expect([await new Response(both.stdout).text(), await both.exited]).toEqual([`abc\n${timedOut}`, 124])
  expect(await runCli(openCell)).toEqual({ code: 124, stdout: 'abc', stderr: timedOut })
}, 60_000)
