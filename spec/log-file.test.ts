/**
 * `--log-file` / `EXECD_LOG_FILE` (issue 12.4): the reference's deployments set the variable and
 * read the file. JSON lines are appended there instead of stderr, SIGHUP reopens the path for
 * log rotation, and a path that cannot be opened stops execd at start with exit status 2.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, freePort, postJson, readSse, startDaemon, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-log-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const linesOf = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(l => l !== '')
    : []
const entries = (path: string) => linesOf(path).map(l => JSON.parse(l))

describe('a log file', () => {
  test('--log-file appends JSON lines there, not to stderr, and never the token', async () => {
    const path = join(dir, 'flag.log')
    writeFileSync(path, 'kept from before\n')
    const d = await startDaemon({ args: ['--log-file', path, '--log-level', 'debug'] })
    try {
      expect((await d.fetch('/ping')).status).toBe(200)
      await waitFor('the request logged', () => linesOf(path).some(l => l.includes('"path":"/ping"')))
      const [before, ...rest] = linesOf(path)
      expect(before).toBe('kept from before')
      const logged = rest.map(l => JSON.parse(l))
      expect(logged.find(e => e.msg === 'execd listening')).toMatchObject({
        level: 'info',
        options: { 'log-file': path },
      })
      for (const e of logged) expect(typeof e.ts).toBe('string')
      expect(readFileSync(path, 'utf8')).not.toContain(d.token)
      expect(d.logs()).toBe('')
    } finally {
      await d.stop()
    }
  })

  test('EXECD_LOG_FILE does the same; a command run by execd does not inherit the file', async () => {
    const path = join(dir, 'env.log')
    const d = await startDaemon({ env: { EXECD_LOG_FILE: path } })
    try {
      // Said after the first poll, not before the port answers (cmd/serve.ts `announce`).
      await waitFor('the start logged', () => entries(path).some(e => e.msg === 'execd listening'))
      const frames = await readSse(await postJson(d, '/command', { command: 'ls -l /proc/self/fd/' }))
      const out = frames
        .filter(f => f.data.type === 'stdout')
        .map(f => f.data.text)
        .join('\n')
      expect(out).toContain('/proc/') // the listing itself ran
      expect(out).not.toContain(path)
      expect(d.logs()).toBe('')
    } finally {
      await d.stop()
    }
  })

  test('after the file is renamed, SIGHUP makes execd write to a new file at the path', async () => {
    const path = join(dir, 'rotate.log')
    const rotated = `${path}.1`
    const d = await startDaemon({ args: ['--log-file', path, '--log-level', 'debug'] })
    try {
      await d.fetch('/before-rotation')
      await waitFor('the first request logged', () => linesOf(path).some(l => l.includes('/before-rotation')))
      renameSync(path, rotated)
      // Until the signal, lines still go to the renamed file (the descriptor follows it).
      await d.fetch('/between-rotations')
      await waitFor('the rename seen', () => linesOf(rotated).some(l => l.includes('/between-rotations')))
      d.proc.kill('SIGHUP')
      await waitFor('the new file', () => entries(path).some(e => e.msg === 'log file reopened'))
      await d.fetch('/after-rotation')
      await waitFor('the next request in the new file', () => linesOf(path).some(l => l.includes('/after-rotation')))
      expect(linesOf(rotated).some(l => l.includes('/after-rotation'))).toBe(false)
      expect(linesOf(path).some(l => l.includes('/before-rotation'))).toBe(false)
      expect((await d.fetch('/ping')).status).toBe(200)
    } finally {
      await d.stop()
    }
  })

  test('a SIGHUP whose reopen fails keeps logging to the open file and keeps serving', async () => {
    const sub = join(dir, 'gone')
    mkdirSync(sub)
    const path = join(sub, 'x.log')
    const d = await startDaemon({ args: ['--log-file', path] })
    try {
      const kept = join(dir, 'kept.log')
      renameSync(path, kept)
      rmSync(sub, { recursive: true })
      d.proc.kill('SIGHUP')
      await waitFor('the failure logged', () => entries(kept).some(e => e.msg.startsWith('could not reopen')))
      const failure = entries(kept).find(e => e.msg.startsWith('could not reopen'))
      expect(failure.error).toContain('no such file or directory')
      expect((await d.fetch('/ping')).status).toBe(200)
    } finally {
      await d.stop()
    }
  })

  for (const [what, path] of [
    ['in a missing directory', join(dir, 'missing', 'x.log')],
    ['that is a directory', dir],
  ] as const) {
    test(`a log file ${what} stops execd at start: one line on stderr, exit 2`, async () => {
      const proc = Bun.spawn([BIN, 'serve', '--port', String(await freePort()), '--log-file', path], {
        stdout: 'pipe',
        stderr: 'pipe',
        env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
      })
      expect(await proc.exited).toBe(2)
      const stderr = await new Response(proc.stderr).text()
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toContain(`cannot open the log file '${path}'`)
      expect(stderr).toContain('EXECD_LOG_FILE')
    })
  }
})
