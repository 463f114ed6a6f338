/**
 * `execd serve` stopped before its start is over: a container's main process that exits at once
 * (`serve -- true`, an app that fails at start) or a SIGTERM as the port opens. The stop is
 * clean, and the log says only that: no error or warning of a start the stop cut short.
 */
import { expect, test } from 'bun:test'
import { runCli } from './harness'
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
