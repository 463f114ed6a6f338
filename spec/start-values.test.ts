/**
 * Values of flags and EXECD_* variables that cannot be served end the start with one line
 * naming the option and the usage exit (2): never a stack trace, Bun's own words, a hang, a
 * read without end, or a daemon that serves something else than what was asked.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, freePort, waitFor } from './harness'
import { serveStoppedAtListening } from './kit/serve-stop'

const dir = mkdtempSync(join(tmpdir(), 'execd-start-values-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts serve with `args` and `env`; its exit code and stderr, or 'listening' if it served. */
async function start(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | 'listening'; stderr: string }> {
  const r = await serveStoppedAtListening(
    ['--host', '127.0.0.1', ...args],
    { EXECD_ACCESS_TOKEN: '', EXECD_PORT: String(await freePort()), ...env },
    { says: 'execd listening', signal: 'SIGKILL' },
  )
  return { code: r.listened ? 'listening' : r.exited, stderr: r.stderr }
}

const refused = (flag: string, says?: string) => ({
  code: 2,
  stderr: expect.stringMatching(new RegExp(`^execd: [^\\n]*--${flag}[^\\n]*${says ?? ''}[^\\n]*\\n$`)),
})

test('a port past 65535, as a flag or in EXECD_PORT', async () => {
  expect(await start(['--port', '99999'])).toEqual(refused('port', 'at most 65535'))
  expect(await start([], { EXECD_PORT: '70000' })).toEqual(refused('port', 'at most 65535'))
})

test('a number past 2^53 is not read as another one', async () => {
  expect(await start(['--max-upload-bytes', '99999999999999999999999'])).toEqual(refused('max-upload-bytes'))
})

test('a bad number in the environment is the same usage error as on the command line', async () => {
  expect(await start([], { EXECD_MAX_JSON_BYTES: '-1' })).toEqual(refused('max-json-bytes'))
  expect(await start([], { EXECD_MAX_PROXY_REQUESTS: '1000' })).toEqual(refused('max-proxy-requests'))
})

test('a number in the environment is digits, as on the command line: blanks, hex, exponents are refused', async () => {
  // Number() read these: a blank EXECD_MAX_STREAMS was 0 (no limit), a blank EXECD_PORT a random
  // port; '0x10', '1e3' and '5 ' served 16, 1000 and 5 where the flag refused them.
  expect(await start([], { EXECD_MAX_STREAMS: ' ' })).toEqual(refused('max-streams'))
  expect(await start([], { EXECD_PORT: ' ' })).toEqual(refused('port'))
  for (const value of ['0x10', '1e3', '5 ', '0b1', '-0', '+5']) {
    expect({ value, ...(await start([], { EXECD_MAX_REQUESTS: value })) }).toEqual({
      value,
      ...refused('max-requests'),
    })
  }
})

test('an empty --access-token is refused (an unset variable); an empty EXECD_ACCESS_TOKEN still means none', async () => {
  // Served without a token before: with --host 0.0.0.0, any client sending a loopback Host.
  expect(await start(['--access-token', ''])).toEqual(refused('access-token', 'empty'))
  expect(await start(['--access-token='])).toEqual(refused('access-token', 'empty'))
  const none = await start([], { EXECD_ACCESS_TOKEN: '' })
  expect(none.code).toBe('listening')
  expect(none.stderr).toContain('"auth":"none"')
})

test('without a token on a non-loopback address, the warning says any client reaching it is served', async () => {
  const { stderr } = await serveStoppedAtListening(
    ['--host', '0.0.0.0', '--port', String(await freePort())],
    { EXECD_ACCESS_TOKEN: '' },
    { says: 'no access token set', signal: 'SIGKILL' },
  )
  expect(stderr).toContain('no access token set and listening on 0.0.0.0: any client that reaches this address')
})

test('--cgroups is auto or off: anything else was served as auto', async () => {
  expect(await start(['--cgroups', 'junk'])).toEqual(refused('cgroups', 'auto or off'))
  expect(await start([], { EXECD_CGROUPS: 'OFF' })).toEqual(refused('cgroups'))
})

test('--root must be a directory', async () => {
  const file = join(dir, 'a-file')
  writeFileSync(file, 'x')
  expect(await start(['--root', file])).toEqual(refused('root', 'not a directory'))
  // In the words the README gives (errno in words), not Node's `ENOENT: …, lstat '<path>'`.
  const missing = join(dir, 'missing')
  expect(await start(['--root', missing])).toEqual({
    code: 2,
    stderr: `execd: --root ${missing}: no such file or directory\n`,
  })
})

test('--access-token-file: a directory or a first line longer than any token, named', async () => {
  expect(await start(['--access-token-file', dir])).toEqual(refused('access-token-file', dir))
  // Read whole before: a device without an end (/dev/zero) grew execd by 1.2 GB in 3 s.
  const long = join(dir, 'long')
  writeFileSync(long, 'x'.repeat(1 << 20))
  expect(await start(['--access-token-file', long])).toEqual(refused('access-token-file', 'longer than'))
})

test('--access-token-file: a FIFO whose writer stays is read up to its first line', async () => {
  const fifo = join(dir, 'fifo')
  expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0)
  const token = `t-${crypto.randomUUID()}`
  const port = await freePort()
  const p = Bun.spawn([BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--access-token-file', fifo], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'ignore',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  // The writer's end stays open while execd starts: it was read to an end that never came.
  const writer = openSync(fifo, 'w')
  try {
    writeFileSync(writer, `${token}\nmore that is not the token\n`)
    await waitFor('execd to answer /ping with the token', () =>
      fetch(`http://127.0.0.1:${port}/ping`, { headers: { 'X-EXECD-ACCESS-TOKEN': token } }).then(
        r => r.status === 200,
        () => false,
      ),
    )
  } finally {
    closeSync(writer)
    p.kill('SIGTERM')
    await p.exited
  }
})

test('--python-spare above the one spare kept is refused, not served as 1; exec reads it too', async () => {
  // Sixteenth pass: both served (the runtime read its settings at the first context only).
  expect(await start(['--python-spare', '2'])).toEqual(refused('python-spare', 'at most 1'))
  expect(await start([], { EXECD_PYTHON_SPARE: '5' })).toEqual(refused('python-spare', 'at most 1'))
  expect(await start(['--python-spare', '1'])).toMatchObject({ code: 'listening' })
  // exec's own default (0) outranked the flag, which was never read.
  const exec = Bun.spawnSync([BIN, 'exec', '--python-spare', '2', 'python', 'print(1)'], { cwd: dir })
  expect([exec.exitCode, exec.stderr.toString()]).toEqual([
    2,
    "execd: option --python-spare (EXECD_PYTHON_SPARE) must be at most 1, got '2'\n",
  ])
})
