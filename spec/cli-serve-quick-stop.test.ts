/**
 * `execd serve` stopped before its start is over: a container's main process that exits at once
 * (`serve -- true`, an app that fails at start) or a SIGTERM as the port opens. The stop is
 * clean, and the log says only that: no error or warning of a start the stop cut short.
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, runCli, startDaemon, waitFor } from './harness'
import { serveStoppedAtListening } from './kit/serve-stop'

/** The log lines of a serve's run that are not `info`, with their words. */
const notInfo = (stderr: string) =>
  stderr
    .split('\n')
    .filter(l => l.trim() !== '')
    .filter(l => !l.includes('"level":"info"'))

// With a token on loopback: the one warning a start without a token gives is not the question.
const env = { EXECD_ACCESS_TOKEN: `t-${crypto.randomUUID()}`, EXECD_PORT: '' }

test('a main process that exits at once ends serve with its status and nothing but info lines', async () => {
  for (const main of ['true', 'exit 7']) {
    const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--', 'bash', '-c', main], { env })
    expect({ main, code: r.code, lines: notInfo(r.stderr) }).toEqual({
      main,
      code: main === 'true' ? 0 : 7,
      lines: [],
    })
    expect(r.stderr).toContain('"main process exited"')
  }
})

/** Serve (with `main` after `--` when given) sent SIGTERM the moment it says it listens. */
const stoppedAtListening = (main: string[]) =>
  serveStoppedAtListening(['--port', '0', '--host', '127.0.0.1', ...(main.length ? ['--', ...main] : [])], env)

test('serve stopped by SIGTERM the moment it listens shuts down (exit 0), saying nothing but info lines', async () => {
  const r = await stoppedAtListening([])
  expect({ code: r.code, signal: r.signal, lines: notInfo(r.stderr) }).toEqual({ code: 0, signal: null, lines: [] })
  expect(r.stderr).toContain('"shutting down"')
})

test('as an entrypoint, a SIGTERM the moment it listens reaches the main process, whose status execd exits with', async () => {
  const r = await stoppedAtListening(['sleep', '300'])
  expect({ code: r.code, signal: r.signal, lines: notInfo(r.stderr) }).toEqual({ code: 143, signal: null, lines: [] })
  expect(r.stderr).toContain('"forwarding signal to the main process"')
  expect(r.stderr).toContain('"main process exited"')
})

test('a signal after the main process exited is not forwarded to its pid, nor said to be', async () => {
  // Ctrl-C at a terminal reaches serve and the main process at once: the main one had exited
  // and been reaped when serve's handler ran (seen by hand), which logged a forward to it and
  // sent the signal to a pid another process may hold by then. Here the signal comes while the
  // shutdown waits on a command deaf to SIGTERM: the same order, every time.
  const dir = mkdtempSync(join(tmpdir(), 'after-main-'))
  const go = join(dir, 'go')
  const d = await startDaemon({
    args: ['--shutdown-grace', '4000', '--', 'sh', '-c', `until [ -e ${go} ]; do sleep 0.05; done`],
  })
  try {
    // Its trap set before the shutdown asks it to end.
    const deaf = await postJson(d, '/command', { command: 'trap "" TERM; echo deaf; exec sleep 300' })
    await readSse(deaf, f => f.data.type === 'stdout' && f.data.text.includes('deaf'))
    writeFileSync(go, '')
    await waitFor('the shutdown', () => d.logs().includes('"shutting down"'))
    d.proc.kill('SIGTERM')
    await waitFor('the signal said', () => /"signal after the main process exited|"forwarding signal/.test(d.logs()))
    const after = d.logs().slice(d.logs().indexOf('"shutting down"'))
    expect(after).not.toContain('"forwarding signal to the main process"')
    expect(after).toContain('"signal after the main process exited: not forwarded","signal":"SIGTERM"')
  } finally {
    d.proc.kill('SIGKILL')
    await d.proc.exited
    rmSync(dir, { recursive: true, force: true })
  }
})
