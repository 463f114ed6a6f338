/** `execd exec --shell`: the commands plugin without HTTP, from the compiled executable. */
import { expect, test } from 'bun:test'
import { BIN, runCli } from './harness'

const exec = (...args: string[]) => runCli(['exec', ...args])

test('streams stdout and stderr and exits with the command code', async () => {
  const r = await exec(
    '--shell',
    'echo "$A $B"; pwd; echo oops >&2; exit 3',
    '--cwd',
    '/tmp',
    '--env',
    'A=1',
    '--env',
    'B=2',
  )
  expect(r.stdout).toBe('1 2\n/tmp\n')
  expect(r.stderr).toContain('oops\n')
  expect(r.code).toBe(3)
})

test('--timeout kills the command: 128 + SIGTERM, and says timeout', async () => {
  const r = await exec('--shell', 'sleep 30', '--timeout', '200')
  expect(r.code).toBe(143)
  expect(r.stderr).toContain('timeout')
})

test('--json prints the event stream', async () => {
  const r = await exec('--shell', 'echo hi', '--json')
  const types = r.stdout
    .trim()
    .split('\n')
    .map(l => JSON.parse(l).type)
  expect(types).toEqual(['init', 'ping', 'stdout', 'execution_complete'])
  expect(r.code).toBe(0)
})

test('bad input is a clear error and exit 1', async () => {
  const r = await exec('--shell', 'true', '--cwd', '/no/such/dir')
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('working directory does not exist')
})

test('a child never gets a secret option, even from a verb that serves nothing (core/child-env.ts)', async () => {
  const env = { EXECD_ACCESS_TOKEN: 'tok-cli', JUPYTER_TOKEN: 'jup-cli', EXECD_SQL_DSN: 'dsn-cli', KEPT: 'kept' }
  const r = await runCli(
    ['exec', '--shell', 'echo "${EXECD_ACCESS_TOKEN-unset} ${JUPYTER_TOKEN-unset} ${EXECD_SQL_DSN-unset} $KEPT"'],
    { env },
  )
  expect([r.code, r.stdout]).toEqual([0, 'unset unset unset kept\n'])
})

test('--cwd expands $VAR from the command environment; an undefined one is refused by name', async () => {
  expect((await exec('--shell', 'pwd', '--cwd', '$D', '--env', 'D=/tmp')).stdout).toBe('/tmp\n')
  const r = await exec('--shell', 'true', '--cwd', '/tmp/$EXECD_CLI_UNDEFINED')
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('undefined environment variables: EXECD_CLI_UNDEFINED')
})

test('piped into head, a verb ends quietly with 141 and stops its command (no EPIPE trace, no yes left)', () => {
  for (const verb of [`exec --shell 'seq 1 100000'`, `exec --shell yes`, `exec bash 'yes'`]) {
    // `timeout` bounds the test: a verb that ignored the closed pipe would run forever.
    const p = Bun.spawnSync(['bash', '-c', `timeout 30 ${BIN} ${verb} | head -1; echo "status \${PIPESTATUS[0]}"`], {
      stderr: 'pipe',
    })
    const out = p.stdout.toString().split('\n')
    expect([verb, out[1]]).toEqual([verb, 'status 141'])
    expect([verb, p.stderr.toString()]).toEqual([verb, ''])
  }
  expect(Bun.spawnSync(['pgrep', '-x', 'yes']).stdout.toString()).toBe('')
})
