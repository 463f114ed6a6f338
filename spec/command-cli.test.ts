/** `execd exec --shell`: the commands plugin without HTTP, from the compiled executable. */
import { expect, test } from 'bun:test'
import { BIN, pidsWith, runCli, waitFor } from './harness'
import { pythonAvailable } from './python-env'
import { ownMarker } from './kit/own-pids'

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

test('--timeout kills the command: 124, as timeout(1), and says timeout', async () => {
  const r = await exec('--shell', 'sleep 30', '--timeout', '200')
  expect(r.code).toBe(124)
  expect(r.stderr).toContain('timeout')
})

test("a command ended by a signal exits 128 + its number, the signal said in Go's words", async () => {
  for (const [sig, status, words] of [
    ['USR2', 140, 'user defined signal 2'],
    ['ALRM', 142, 'alarm clock'],
    ['36', 164, 'signal 36'],
  ] as const) {
    const r = await exec('--shell', `kill -${sig} $$`)
    expect([sig, r.code, r.stderr]).toEqual([sig, status, `execd: signal: ${words}\n`])
  }
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

test('a working directory not there fails the work (exit 1), bad input is a usage error (2): one plain line', async () => {
  // What the disk decides is not a typo: `cd /no/such/dir` fails with 1 too.
  const r = await exec('--shell', 'true', '--cwd', '/no/such/dir')
  expect(r.code).toBe(1)
  expect(r.stderr).toStartWith('execd: ')
  expect(r.stderr).toContain('working directory does not exist')
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  const bad = await exec('--shell', 'true', '--env', 'BAD')
  expect(bad).toEqual({ code: 2, stdout: '', stderr: "execd: --env expects KEY=VALUE, got 'BAD'\n" })
})

test('--json keeps the structured error', async () => {
  const r = await exec('--shell', 'true', '--cwd', '/no/such/dir', '--json')
  expect(r.code).toBe(1)
  expect(JSON.parse(r.stderr)).toMatchObject({ code: 'INVALID_REQUEST_BODY' })
})

test('SIGTERM, SIGINT and SIGHUP stop the command and the verb: 128 + the signal, nothing left', async () => {
  for (const [signal, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const) {
    const marker = ownMarker(`execd-cli-${signal}-`)
    const p = Bun.spawn([BIN, 'exec', '--shell', `echo ready; exec -a ${marker} sleep 300`], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const reader = p.stdout.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
    await waitFor(`${marker} started`, () => pidsWith(marker).length > 0)
    p.kill(signal)
    expect([signal, await p.exited]).toEqual([signal, status])
    await waitFor(`${marker} gone`, () => pidsWith(marker).length === 0)
  }
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
  // The environment decides it, not the words typed: the work fails (1), as `cd "$UNSET/x"` would.
  const r = await exec('--shell', 'true', '--cwd', '/tmp/$EXECD_CLI_UNDEFINED')
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('undefined environment variables: EXECD_CLI_UNDEFINED')
})

test('piped into head, a verb ends quietly with 141 and stops its command (no EPIPE trace, no yes left)', () => {
  const python = pythonAvailable === true ? [`exec python 'for i in range(10**7): print(i)'`] : []
  // Its own yes, found by what it prints: another test run's yes on the machine is not ours.
  const tag = `execd-cli-head-${process.pid}-${Date.now()}`
  for (const verb of [
    `exec --shell 'seq 1 100000'`,
    `exec --shell 'yes ${tag}'`,
    `exec bash 'yes ${tag}'`,
    ...python,
  ]) {
    // `timeout` bounds the test: a verb that ignored the closed pipe would run forever.
    const p = Bun.spawnSync(['bash', '-c', `timeout 30 ${BIN} ${verb} | head -1; echo "status \${PIPESTATUS[0]}"`], {
      stderr: 'pipe',
    })
    const out = p.stdout.toString().split('\n')
    expect([verb, out[1]]).toEqual([verb, 'status 141'])
    expect([verb, p.stderr.toString()]).toEqual([verb, ''])
  }
  expect(pidsWith(`yes ${tag}`)).toEqual([])
})

test('option values stay as typed: a number-like one keeps its zeros, - is a value, a bad --timeout is a usage error', async () => {
  const r = await exec('--shell', '007')
  expect(r.stderr).toContain('007: command not found')
  expect(await exec('--shell', 'echo ok', '--timeout', 'abc')).toEqual({
    code: 2,
    stdout: '',
    stderr: "execd: --timeout expects milliseconds from 1 to 31536000000 (0: no limit), got 'abc'\n",
  })
})

test('a run killed with SIGKILL leaves its temp dir, and the next run sweeps it', async () => {
  const { readdirSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const mine = (pid: number) => readdirSync(tmpdir()).filter(n => n.startsWith(`execd-commands-${pid}-`))
  // Its own mark: the kill below must not reach the same file's command run elsewhere at once.
  const marker = ownMarker('execd-cli-killed-run-')
  const p = Bun.spawn([BIN, 'exec', '--shell', `echo ready; exec -a ${marker} sleep 300`], {
    stdout: 'pipe',
  })
  const reader = p.stdout.getReader()
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
  expect(mine(p.pid)).toHaveLength(1)
  p.kill('SIGKILL')
  await p.exited
  // Nothing can stop a SIGKILL: its command lives on (ended here), its dir stays.
  for (const pid of pidsWith(`${marker} 300`)) process.kill(pid, 'SIGKILL')
  expect(mine(p.pid)).toHaveLength(1)
  // The next run sweeps it before it exits: nothing is left once it has.
  expect((await exec('--shell', 'true')).code).toBe(0)
  expect(mine(p.pid)).toEqual([])
})

test('a run that starts while another runs never takes its temp dir; each leaves nothing', async () => {
  const { existsSync, mkdtempSync, readdirSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const tmp = mkdtempSync(join(tmpdir(), 'execd-spec-cli-temp-'))
  const flag = join(tmp, 'go')
  try {
    const env = { TMPDIR: tmp }
    const first = runCli(['exec', '--shell', `echo one; until [ -e ${flag} ]; do sleep 0.05; done; echo two`], { env })
    const dirs = () => readdirSync(tmp).filter(n => n.startsWith('execd-commands-'))
    await waitFor('the first run’s dir', () => dirs().length === 1)
    const [held] = dirs()
    for (let i = 0; i < 3; i++) expect((await runCli(['exec', '--shell', 'true'], { env })).code).toBe(0)
    expect(dirs()).toEqual([held!])
    await Bun.write(flag, '')
    expect(await first).toMatchObject({ code: 0, stdout: 'one\ntwo\n' })
    expect(existsSync(join(tmp, held!))).toBe(false)
    expect(readdirSync(tmp)).toEqual(['go'])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
