/**
 * The prompts of the languages that are not python at a terminal, as a person meets them: a cell
 * that will not stop, Ctrl-C, the prompt given back. Skipped where tmux is missing.
 */
import { afterAll, beforeAll, describe, test } from 'bun:test'
import { BIN } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'

let term: Terminal

beforeAll(() => {
  term = terminal('execd-prompts')
})
afterAll(() => term.close())

describe.skipIf(!hasTool('tmux'))('at a terminal (tmux)', () => {
  test('Ctrl-C in a javascript cell deaf to it gives the prompt back, its interpreter fresh; Ctrl-D exits 0', async () => {
    // The verb's own 3 s deadline after Ctrl-C ended the prompt (130) before the daemon's
    // interrupt grace (3 s) killed the interpreter and said so.
    term.shell()
    term.keys(`${BIN} exec javascript; echo "status $?"`, 'Enter')
    await term.shows(/^javascript>/m)
    term.keys("console.log('loop' + 'ing'); while (true) {}", 'Enter')
    await term.shows(/^looping$/m)
    term.keys('C-c')
    await term.shows('its state is lost')
    await term.shows(/^javascript>\s*$/m)
    term.keys("'given' + ' back'", 'Enter')
    await term.shows("'given back'")
    term.keys('C-d')
    await term.shows('status 0')
  }, 120_000)
})
