/**
 * `execd serve` as a person starts it, and it cannot listen: a port another daemon holds, a
 * port that does not exist, an address this machine does not have. One line saying which
 * address and what to change, exit 1 (2 for a value no port can have), never a second daemon.
 */
import { expect, test } from 'bun:test'
import { runCliSync } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { serveStoppedAtListening } from './kit/serve-stop'

const fx = daemonAlone(() => ({ token: null }))

/** Runs serve to its end, or until it says it listens (then stops it). */
async function start(args: string[]): Promise<{ code: number | null; stderr: string; listened: boolean }> {
  const r = await serveStoppedAtListening(args, { EXECD_ACCESS_TOKEN: '', EXECD_PORT: '' })
  return { code: r.exited, stderr: r.stderr, listened: r.listened }
}

test('a second serve on a port a daemon listens on fails with one line; the first keeps every request', async () => {
  const port = new URL(fx.d.url).port
  const second = await start(['--port', port, '--host', '127.0.0.1'])
  // Bun set SO_REUSEPORT: the second daemon listened too, and the kernel shared connections.
  expect(second.listened).toBe(false)
  expect(second).toEqual({
    code: 1,
    stderr: `execd: cannot listen on 127.0.0.1:${port}: the port is in use (another execd, or another program: \`ss -ltnp\` names it); choose another with --port\n`,
    listened: false,
  })
  expect((await fx.d.fetch('/ping')).status).toBe(200)
})

test('a port out of range is a usage error naming the option', () => {
  for (const [args, env] of [
    [['serve', '--port', '99999'], {}],
    [['serve'], { EXECD_PORT: '70000' }],
  ] as const) {
    const r = runCliSync([...args], { env: { EXECD_PORT: '', ...env } })
    const got = args.length > 1 ? '99999' : '70000'
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `execd: option --port (EXECD_PORT) must be at most 65535, got '${got}'\n`,
    })
  }
})

test('an address this machine cannot listen on names the address and --host', async () => {
  const r = await start(['--port', '0', '--host', '192.0.2.1'])
  expect(r).toEqual({
    code: 1,
    stderr:
      'execd: cannot listen on 192.0.2.1:0: no interface of this machine has that address; choose another with --host\n',
    listened: false,
  })
  const unresolved = await start(['--port', '0', '--host', 'no-such-host.invalid'])
  expect(unresolved.code).toBe(1)
  expect(unresolved.stderr).toStartWith('execd: cannot listen on no-such-host.invalid:0: ')
  expect(unresolved.stderr).toContain('check --host')
})
