/**
 * Every client option that takes a whole number reads it one way (cmd/whole-option.ts): a value
 * out of range, `1e3`, `0x10`, ` 5`, `-0`, `Infinity` or an empty flag is one line naming the
 * option, with its unit and range, exit 2, before anything is asked of a daemon (none listens at
 * `--url` here: a value taken would end 1, "cannot reach"). Each was parsed by hand before, and
 * some values were taken as something else. The CLI starts run side by side: no daemon, no waits.
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runCli } from './harness'

const HUGE = '99999999999999999999'

/** Each run's exit status and stderr, the runs started together. */
const refusals = (runs: [string[], Record<string, string>?][]) =>
  Promise.all(
    runs.map(async ([args, env]) => {
      const r = await runCli(args, { env })
      return [r.code, r.stderr]
    }),
  )

const refused = (line: string) => [2, `execd: ${line}\n`]

test('a timeout, a notice or a port typed wrong is said naming the option, never taken', async () => {
  const url = `http://127.0.0.1:${await freePort()}`
  const ms = (flag: string, range: string, typed: string) =>
    refused(`${flag} expects milliseconds from ${range}, got '${typed}'`)
  expect(
    await refusals([
      // Was run with a timer of 1e20 ms, exit 0.
      [['exec', '--timeout', HUGE, '--shell', 'true']],
      // Was Bun's "Value 100000000000000000000 is outside the range", exit 1.
      [['ping', '--timeout', HUGE, '--url', url]],
      // Was said as a bad --url; an empty one asked port 80; `5 ` was "error ERR_INVALID_URL".
      [['ping', '--port', 'abc']],
      [['ping', '--port', '']],
      [['ping', '--port', '5 ']],
      [['ping', '--port', '0']],
      // Empty was taken as not given; a huge one as 1e20.
      [['exec', '--shell', 'true', '--url', url, '--answer-timeout', '']],
      [['fs', 'ls', '/', '--url', url, '--answer-timeout', HUGE]],
      [['metrics', '--url', url, '--silence-notice', '']],
      [['metrics', '--url', url], { EXECD_ANSWER_TIMEOUT: '0x10' }],
      [['exec', '--timeout', '1', '--timeout', '2', '--shell', 'true']],
    ]),
  ).toEqual([
    ms('--timeout', '1 to 31536000000 (0: no limit)', HUGE),
    ms('--timeout', '1 to 86400000', HUGE),
    refused("--port expects a port number from 1 to 65535, got 'abc'"),
    refused("--port expects a port number from 1 to 65535, got ''"),
    refused("--port expects a port number from 1 to 65535, got '5 '"),
    refused("--port expects a port number from 1 to 65535, got '0'"),
    ms('--answer-timeout', '1 to 31536000000 (0: no limit)', ''),
    ms('--answer-timeout', '1 to 31536000000 (0: no limit)', HUGE),
    ms('--silence-notice', '1000 to 86400000 (0: never)', ''),
    ms('EXECD_ANSWER_TIMEOUT', '1 to 31536000000 (0: no limit)', '0x10'),
    refused("--timeout is given 2 times ('1', '2'): give it once"),
  ])
})

test("fs cat's line window and fs ls's depth are said as the options typed", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'whole-options-'))
  try {
    writeFileSync(join(dir, 'f'), 'a\nb\n')
    const file = join(dir, 'f')
    const lines = (flag: string, t: string) => refused(`${flag} expects lines from 1 to 9007199254740991, got '${t}'`)
    expect(
      await refusals([
        // Empty was the whole file, exit 0; a huge offset was 1e20 (nothing printed, exit 0).
        [['fs', 'cat', file, '--offset', '']],
        [['fs', 'cat', file, '--limit', '']],
        [['fs', 'cat', file, '--offset', HUGE]],
        // Was the route's words: `offset must be a positive integer (1-based)`.
        [['fs', 'cat', file, '--offset', '0']],
        [['fs', 'ls', dir, '-d', '1e3']],
      ]),
    ).toEqual([
      lines('--offset', ''),
      lines('--limit', ''),
      lines('--offset', HUGE),
      lines('--offset', '0'),
      refused("--depth expects levels from 0 to 100000, got '1e3'"),
    ])
    // --json keeps the files route's code for the same query.
    expect(JSON.parse((await runCli(['fs', 'cat', file, '--limit', '0', '--json'])).stderr).code).toBe(
      'INVALID_REQUEST_BODY',
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
