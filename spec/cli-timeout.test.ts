/**
 * A run stopped by its own `--timeout` exits 124, as `timeout(1)` does, in every verb and mode,
 * here and with --url, with one line saying so. It was 143 for `exec --shell` (the kill's
 * SIGTERM: the person's SIGTERM too), 130 for `exec --isolated` (its interrupt: Ctrl-C's), and
 * 1 for a cell (an error of any kind), with a KeyboardInterrupt's traceback.
 */
import { describe, expect, test } from 'bun:test'
import { runCli } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'

const fx = daemonWithDir('cli-timeout')

const cellLine = 'execd: timed out after 700 ms (the cell was interrupted)'

/** [what, the words after `execd exec`, the line stderr ends with, whether it can run here] */
const CASES: [string, () => string[], string, boolean][] = [
  ['a command', () => ['--shell', 'sleep 30'], 'execd: signal: terminated (timeout after 700 ms)', true],
  [
    'an isolated run',
    () => ['--isolated', fx.tmp, 'sleep 30'],
    'execd: signal: interrupt (timeout after 700 ms)',
    !!Bun.which('bwrap'),
  ],
  ['a bash cell', () => ['bash', 'sleep 30'], cellLine, true],
  ['a python cell', () => ['python', 'import time; time.sleep(30)'], cellLine, pythonAvailable === true],
  ['a javascript cell', () => ['javascript', 'await Bun.sleep(30000)'], cellLine, true],
  // The wait for its timers is the cell's, within the same --timeout.
  [
    'a javascript cell waiting on its timers',
    () => ['javascript', 'setInterval(() => {}, 100); void 0'],
    cellLine,
    true,
  ],
]

describe('--timeout exits 124 in every verb, with one line', () => {
  for (const [what, words, line, runs] of CASES) {
    test.skipIf(!runs)(
      what,
      async () => {
        for (const remote of [false, true]) {
          const r = await runCli(['exec', ...words(), '--timeout', '700', ...(remote ? ['--url', fx.d.url] : [])], {
            env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
          })
          expect([remote ? 'url' : 'local', r.code, r.stdout, r.stderr]).toEqual([
            remote ? 'url' : 'local',
            124,
            '',
            `${line}\n`,
          ])
        }
      },
      60_000,
    )
  }
})
