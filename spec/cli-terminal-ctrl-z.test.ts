/**
 * Ctrl-Z at a terminal, and `fg`: a one-shot command and a prompt's cell stop with execd and go
 * on with it, and the prompt takes keys again. Every child of execd leads a session of its own,
 * so the terminal's SIGTSTP reached execd alone. Skipped where tmux is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { readStat } from '../core/procfs'
import { BIN, pidsWith, waitFor } from './harness'
import { pythonAvailable } from './python-env'
import { hasTool, terminal, type Terminal } from './kit/tmux'
import { ownMarker } from './kit/own-pids'

/** The state letter of `pid`'s thread `task` in /proc (T: stopped), or '' once it is gone. */
const state = (pid: number, task = pid): string => readStat(`${pid}/task/${task}`)?.state ?? ''

/**
 * Whether every thread of `pid` is stopped. Its main thread stops first; execd's other threads
 * a moment later on a loaded machine, and keys sent in that moment were read by execd, not by
 * bash: `fg` never reached bash (1 run in 6 beside another terminal test).
 */
function stopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every(task => state(pid, Number(task)) === 'T')
  } catch {
    return false
  }
}

let term: Terminal
const SLEEPER = ownMarker('execd-ctrl-z-sleeper-')

beforeAll(() => {
  term = terminal('execd-ctrl-z')
})
afterAll(() => term.close())

/** `execd exec python` at its prompt in a fresh shell; the CLI's pid. */
async function pythonPrompt(): Promise<number | undefined> {
  term.shell()
  term.keys(`${BIN} exec python`, 'Enter')
  await term.shows(/^python>/m)
  return pidsWith(`${BIN} exec python`, term.shellPid())[0]
}

describe.skipIf(!hasTool('tmux'))('Ctrl-Z and fg (tmux)', () => {
  test('exec --shell: Ctrl-Z stops the command with execd, fg lets both go on, Ctrl-C ends them (130)', async () => {
    term.shell()
    term.keys(`${BIN} exec --shell 'echo started; exec -a ${SLEEPER} sleep 300'`, 'Enter')
    await term.shows(/^started$/m)
    await waitFor('the command', () => pidsWith(`${SLEEPER} 300`).length > 0)
    const [command] = pidsWith(`${SLEEPER} 300`)
    const [cli] = pidsWith(`${BIN} exec --shell`, term.shellPid())
    term.keys('C-z')
    await term.shows(/Stopped +\S*execd exec --shell/)
    // The command ran on while execd was stopped.
    await waitFor('the command stopped with execd', () => stopped(command!) && stopped(cli!))
    term.keys('fg', 'Enter')
    await waitFor('both going on', () => state(command!) !== 'T' && state(cli!) !== 'T')
    term.keys('C-c')
    term.keys('echo "status $?"', 'Enter')
    await term.shows('status 130')
    await waitFor('no command left', () => pidsWith(`${SLEEPER} 300`).length === 0)
  }, 120_000)

  test.skipIf(pythonAvailable !== true)(
    'the python prompt: Ctrl-Z at the prompt and in a cell, fg, and the prompt takes keys again',
    async () => {
      const cli = await pythonPrompt()
      // At the prompt, a line half typed: at fg it came back but took no key again.
      term.keys('x = 4')
      await term.shows('python> x = 4')
      term.keys('C-z')
      await term.shows(/Stopped +\S*execd exec python/)
      term.keys('fg', 'Enter')
      // bash names the job it brings back; the prompt and the line typed are drawn again after it.
      await term.shows(/^\$ fg\n.*execd exec python.*\npython> x = 4$/m)
      term.keys('2', 'Enter', 'print(x + 1)', 'Enter')
      await term.shows(/^43$/m)
      // In a cell: its interpreter stops with execd, and its lines go on after fg.
      term.keys('clear', 'Enter')
      term.keys('import time', 'Enter', 'while True: print("tick", flush=True); time.sleep(0.2)', 'Enter')
      await term.shows(/^tick$/m)
      const [driver] = pidsWith('<execd-driver>', cli)
      expect(driver).toBeNumber()
      term.keys('C-z')
      await waitFor('the interpreter stopped with execd', () => stopped(driver!) && stopped(cli!))
      // The ticks after fg, not those still on the screen before clear ran: a Ctrl-C sent then
      // reached bash, which dropped the `fg` typed after it (1 run in 5 under load).
      term.keys('clear', 'Enter')
      await waitFor('the screen cleared', () => !/^tick$/m.test(term.screen()))
      term.keys('fg', 'Enter')
      await term.shows(/^tick$/m)
      term.keys('C-c')
      await term.shows('KeyboardInterrupt')
      term.keys('print(x * 2)', 'Enter')
      await term.shows(/^84$/m)
      term.keys('C-d')
      // bash ends a list at a stopped job: its status is asked once execd has gone.
      await waitFor('execd gone', () => state(cli!) === '')
      term.keys('echo "status $?"', 'Enter')
      await term.shows('status 0')
    },
    120_000,
  )

  test.skipIf(pythonAvailable !== true)(
    'kill %1 of a prompt stopped in a cell ends it (143) without fg, its interpreter with it',
    async () => {
      const cli = await pythonPrompt()
      term.keys('import time', 'Enter', 'print("sleeping", flush=True); time.sleep(300)', 'Enter')
      await term.shows(/^sleeping$/m)
      const [driver] = pidsWith('<execd-driver>', cli)
      expect(driver).toBeNumber()
      term.keys('C-z')
      await waitFor('stopped', () => stopped(driver!) && stopped(cli!))
      await term.shows(/Stopped +\S*execd exec python/)
      // bash follows the SIGTERM with a SIGCONT that leaves execd in the background: its raw
      // mode asked for there, and its exit's modes put back, stopped it again (`Stopped (tty
      // output)`) until `fg`. Its exit put the modes it found at start back on stdout and
      // stderr, the terminal still (stdin was /dev/null already): under bash's line editor, echo
      // and line mode showed the next line typed twice (2 runs in 4 by hand). The shell's modes
      // changed after the stop tell, read before bash's editor sets its own again.
      term.keys(
        `stty -echoctl; kill %1; while kill -0 ${cli} 2>/dev/null; do sleep 0.1; done; echo "modes-$(stty -a | grep -o -- '-*echoctl')"`,
        'Enter',
      )
      await waitFor('execd gone', () => state(cli!) === '' && state(driver!) === '', 30_000)
      await term.shows(/^modes-/m)
      expect(term.screen()).toMatch(/^modes--echoctl$/m)
      // bash tells the job's end at its next prompt.
      term.keys('true', 'Enter')
      await term.shows(/Exit 143 +\S*execd exec python/)
    },
    120_000,
  )
})
