/**
 * A person's shell left in a directory that was removed under it (`rm -rf` of a build tree from
 * another terminal, a branch switched away). getcwd(3) fails there, and every verb said `execd:
 * no such file or directory` before any work, even `metrics` and an absolute path; `serve`
 * started there died a moment after it listened. What names its paths in full works, as cat's
 * and ls's do; what needs the directory says so in one line.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, startDaemon, type Daemon } from './harness'

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cli-removed-cwd-'))
  writeFileSync(join(tmp, 'file'), 'hello\n')
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** `sh` starts in a fresh directory, removes it and execs the command there. */
const inRemoved = (name: string): string[] => {
  const dir = join(tmp, name)
  mkdirSync(dir)
  return ['sh', '-c', 'rmdir "$0" && exec "$@"', dir]
}

async function runInRemoved(name: string, args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([...inRemoved(name), BIN, ...args], {
    cwd: join(tmp, name),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', ...env },
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ])
  return { code, stdout, stderr }
}

test('absolute paths and metrics work there, as cat and ls do', async () => {
  const file = join(tmp, 'file')
  expect(await runInRemoved('a', ['fs', 'cat', file])).toEqual({ code: 0, stdout: 'hello\n', stderr: '' })
  const got = await runInRemoved('b', ['fs', 'get', file, join(tmp, 'copy')])
  expect(got).toEqual({ code: 0, stdout: '', stderr: '' })
  expect(readFileSync(join(tmp, 'copy'), 'utf8')).toBe('hello\n')
  const listed = await runInRemoved('c', ['fs', 'ls', tmp])
  expect([listed.code, listed.stderr, listed.stdout.includes(file)]).toEqual([0, '', true])
  const metrics = await runInRemoved('d', ['metrics', '--json'])
  expect([metrics.code, metrics.stderr, 'mem_used_mib' in JSON.parse(metrics.stdout)]).toEqual([0, '', true])
})

test('what needs the directory says so in one line, exit 1', async () => {
  // `fs get` with no destination writes into the current directory.
  expect(await runInRemoved('e', ['fs', 'get', join(tmp, 'file')])).toEqual({
    code: 1,
    stdout: '',
    stderr: 'execd: the current directory has been removed (cd to one that exists)\n',
  })
  // A local cell starts where execd was started: the line names it.
  const cell = await runInRemoved('f', ['exec', 'bash', 'echo hi'])
  expect([cell.code, cell.stdout]).toEqual([1, ''])
  expect(cell.stderr).toBe(
    `execd: could not start the bash interpreter: execd's own working directory ${join(tmp, 'f')} does not exist (removed?)\n`,
  )
})

test('a relative path there says the directory was removed, and makes nothing', async () => {
  const removed = {
    code: 1,
    stdout: '',
    stderr: 'execd: the current directory has been removed (cd to one that exists)\n',
  }
  for (const [name, args] of [
    ['j', ['fs', 'ls', '.']],
    ['k', ['fs', 'cat', 'x']],
    ['l', ['fs', 'stat', '/etc/hosts', 'x']],
    ['m', ['fs', 'mkdir', 'y']],
  ] as const)
    expect([name, await runInRemoved(name, [...args])]).toEqual([name, removed])
  // `mkdir` made the removed directory again, under the path it had
  expect(existsSync(join(tmp, 'm'))).toBe(false)
  // an absolute path still works, `~` and `$VAR` expanded to one too
  const home = await runInRemoved('n', ['fs', 'cat', '~/file'], { HOME: tmp })
  expect(home).toEqual({ code: 0, stdout: 'hello\n', stderr: '' })
})

test('serve started there keeps serving; a cell made there again runs in it', async () => {
  const d: Daemon = await startDaemon({ cwd: join(tmp, 'g'), under: inRemoved('g') })
  try {
    const url = ['--url', d.url]
    const env = { EXECD_ACCESS_TOKEN: d.token }
    const shell = await runInRemoved('h', ['exec', '--shell', 'echo ok', ...url], env)
    expect([shell.code, shell.stdout]).toEqual([0, 'ok\n'])
    mkdirSync(join(tmp, 'g'))
    expect(await runInRemoved('i', ['exec', 'bash', 'pwd', ...url], env)).toEqual({
      code: 0,
      stdout: `${join(tmp, 'g')}\n`,
      stderr: '',
    })
    expect(d.proc.exitCode).toBeNull()
    expect(d.logs()).not.toContain('uncaught')
  } finally {
    await d.stop()
  }
})
