/**
 * A one-shot `execd exec <language> CODE` prints what the language's own one-shot command prints:
 * no last expression's value (`python3 -c '1 + 1'` prints nothing; so do `node -e`, `java`, `go
 * run`), what the code shows itself (output, `display()`), SQL's rows (as sqlite3 prints them);
 * here and with --url. `--json` keeps every event. Python printed its value (`2`), java and go too.
 */
import { describe, expect, test } from 'bun:test'
import { runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { PYTHON, pythonAvailable } from './python-env'

const fx = daemonAlone()

const both = async (args: string[]) => {
  const local = await runCli(['exec', ...args])
  const remote = await runCli(['exec', ...args, '--url', fx.d.url], { env: { EXECD_ACCESS_TOKEN: fx.d.token } })
  return { local, remote }
}

/** Code python3 -c runs alike: its stdout, stderr and status are execd's. */
const PYTHON_LIKE_C = [
  '1 + 1',
  'x = 41\nprint("hello")\nx + 1',
  '1 + 1  # a comment after it',
  'if True:\n    3',
  '"text"\n# a comment line last\n',
  'import subprocess\nsubprocess.run(["true"])',
]

describe.skipIf(pythonAvailable !== true)('python', () => {
  test('prints what python3 -c prints: no last value', async () => {
    for (const code of PYTHON_LIKE_C) {
      const own = Bun.spawnSync([PYTHON, '-c', code])
      const want = { code: own.exitCode, stdout: own.stdout.toString(), stderr: own.stderr.toString() }
      const { local, remote } = await both(['python', code])
      expect([code, local, remote]).toEqual([code, want, want])
    }
  }, 60_000)

  test('display() still shows, and a syntax error at the end keeps its words', async () => {
    expect(await both(['python', 'display(5)\n6'])).toEqual({
      local: { code: 0, stdout: '5\n', stderr: '' },
      remote: { code: 0, stdout: '5\n', stderr: '' },
    })
    for (const code of ['x = 1 + \\', 'x = """abc']) {
      const { local, remote } = await both(['python', code])
      expect([code, local.code, remote.code]).toEqual([code, 1, 1])
      expect(local.stderr).toContain('line 1\n')
      expect(local.stderr).not.toContain('pass')
      expect(remote.stderr).toBe(local.stderr)
    }
  }, 60_000)

  test('--json keeps the value as a result event', async () => {
    const { local, remote } = await both(['python', '--json', '1 + 1'])
    for (const r of [local, remote]) {
      const results = r.stdout
        .trim()
        .split('\n')
        .map(l => JSON.parse(l))
        .filter(e => e.type === 'result')
      expect(results.map(e => e.results.text)).toEqual(['2'])
    }
  }, 60_000)
})

const langs: [string, string, boolean][] = [
  ['go', '1 + 1', !!Bun.which('go')],
  ['java', '1 + 1', !!Bun.which('jshell')],
  ['javascript', '1 + 1', true],
]
for (const [language, code, here] of langs) {
  test.skipIf(!here)(
    `${language} prints no last value either`,
    async () => {
      const { local, remote } = await both([language, code])
      expect([local, remote]).toEqual([
        { code: 0, stdout: '', stderr: '' },
        { code: 0, stdout: '', stderr: '' },
      ])
    },
    60_000,
  )
}

test("sql prints its rows, as sqlite3 does: they are the statement's output", async () => {
  const table = 'a\n-\n1\n(1 row)\n'
  expect(await both(['sql', 'select 1 as a'])).toEqual({
    local: { code: 0, stdout: table, stderr: '' },
    remote: { code: 0, stdout: table, stderr: '' },
  })
}, 60_000)
