/**
 * The daemon a person points the CLI at is not there: nothing listens on the port, something
 * that is not execd closes the connection, the host does not exist. One line naming the URL and
 * saying what is wrong in words (not Bun's advice to programmers), exit 1; a value typed wrong
 * (`ping --timeout abc`, `--url nothttp`) is a usage error, exit 2. A token missing or refused
 * says which, and where the CLI takes it from: the daemon's words name only its header.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { freePort, runCli, spawnCli, startDaemon } from './harness'

let closed: number
// Accepts, reads the request, and hangs up without an answer.
let hangsUp: Bun.TCPSocketListener<undefined>
// Accepts, reads the request, and never answers (a daemon stopped by SIGSTOP, a stuck proxy).
let mute: Bun.TCPSocketListener<undefined>
beforeAll(async () => {
  closed = await freePort()
  hangsUp = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: socket => void socket.end() } })
  mute = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: () => {} } })
})
afterAll(() => {
  hangsUp.stop(true)
  mute.stop(true)
})

const REFUSED = 'connection refused (is execd serve running there, on that port?)'
const HUNG_UP = 'the connection closed before an answer (is it execd there? an https daemon asked over http?)'

test('nothing listening: exec, fs and ping say so in the same words', async () => {
  const base = `http://127.0.0.1:${closed}`
  for (const args of [
    ['exec', '--shell', 'true', '--url', base],
    ['fs', 'ls', '/', '--url', base],
    ['metrics', '--url', base],
  ]) {
    expect([args[0], await runCli(args)]).toEqual([
      args[0],
      { code: 1, stdout: '', stderr: `execd: cannot reach ${base}: ${REFUSED}\n` },
    ])
  }
  expect(await runCli(['ping', '--port', String(closed)])).toEqual({
    code: 1,
    stdout: '',
    stderr: `execd ping: ${base}/ping: ${REFUSED}\n`,
  })
})

test('a server that hangs up is no daemon: no advice to pass `verbose: true` to fetch()', async () => {
  const base = `http://127.0.0.1:${hangsUp.port}`
  expect(await runCli(['exec', '--shell', 'true', '--url', base])).toEqual({
    code: 1,
    stdout: '',
    stderr: `execd: cannot reach ${base}: ${HUNG_UP}\n`,
  })
  expect(await runCli(['ping', '--url', `${base}/ping`])).toEqual({
    code: 1,
    stdout: '',
    stderr: `execd ping: ${base}/ping: ${HUNG_UP}\n`,
  })
})

test('a daemon that accepts and never answers: every verb gives up with one line naming the request, exit 1', async () => {
  // Each waited until Ctrl-C (ping alone had its --timeout).
  const base = `http://127.0.0.1:${mute.port}`
  const dir = mkdtempSync(join(tmpdir(), 'answer-'))
  try {
    for (const [args, request] of [
      [['exec', '--shell', 'true'], 'POST /command'],
      [['exec', 'python', 'print(1)'], 'POST /code/context'],
      [['fs', 'ls', '/'], 'GET /directories/list'],
      [['fs', 'get', '/etc/hostname', join(dir, 'got')], 'GET /files/download'],
      [['metrics'], 'GET /metrics'],
    ] as const) {
      const run = await runCli([...args, '--url', base, '--answer-timeout', '300'])
      expect([args.join(' '), run]).toEqual([
        args.join(' '),
        {
          code: 1,
          stdout: '',
          stderr: `execd: ${base} has not answered ${request} within 0.3 s (a daemon that accepts and is stuck?); --answer-timeout <ms> waits longer (0: no limit)\n`,
        },
      ])
    }
    // The variable, as EXECD_URL is to --url.
    const run = await runCli(['fs', 'stat', '/', '--url', base], { env: { EXECD_ANSWER_TIMEOUT: '300' } })
    expect([run.code, run.stderr.split('\n').length]).toEqual([1, 2])
    expect(run.stderr).toContain('has not answered GET /files/info within 0.3 s')
    // Nothing of the download under its name.
    expect(readdirSync(dir)).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a daemon that accepts and never reads an upload: fs put gives up with one line, exit 1', async () => {
  // The upload's send had no bound: its answer's wait begins only once the body is all sent, and
  // a connection nobody reads takes a few MiB into the sockets' buffers, then nothing. `timeout`
  // ended it at 15 s (124), as Ctrl-C did.
  const held: Socket[] = []
  const deaf = createServer({ pauseOnConnect: true }, socket => void held.push(socket))
  await new Promise<void>(listening => deaf.listen(0, '127.0.0.1', listening))
  const base = `http://127.0.0.1:${(deaf.address() as { port: number }).port}`
  const dir = mkdtempSync(join(tmpdir(), 'answer-'))
  try {
    // More than the sockets' buffers hold (a few MiB on loopback).
    writeFileSync(join(dir, 'big'), Buffer.alloc(64 << 20, 'x'))
    const cli = spawnCli(['fs', 'put', join(dir, 'big'), '/tmp/never', '--url', base, '--answer-timeout', '300'])
    // A bound of its own, as a person's Ctrl-C: main's build would wait here forever.
    const gaveUp = await Promise.race([cli.exited, Bun.sleep(60_000).then(() => 'waiting')])
    cli.kill('SIGKILL')
    expect([gaveUp, await new Response(cli.stderr).text()]).toEqual([
      1,
      `execd: ${base} has not read more of POST /files/upload within 0.3 s (a daemon that accepts and is stuck?); --answer-timeout <ms> waits longer (0: no limit)\n`,
    ])
  } finally {
    for (const socket of held) socket.destroy()
    deaf.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an --answer-timeout past 2³¹ ms waits: it is not cut to 1 ms', async () => {
  // setTimeout fired at once (1 ms, with a TimeoutOverflowWarning) for 99999999999: the verb gave
  // up on the mute daemon in a millisecond. 3000000000 (past 2³¹, under the option's year).
  const cli = spawnCli(['fs', 'ls', '/', '--url', `http://127.0.0.1:${mute.port}`, '--answer-timeout', '3000000000'])
  await Bun.sleep(1000)
  const running = cli.exitCode === null
  cli.kill('SIGTERM')
  await cli.exited
  expect([running, await new Response(cli.stderr).text()]).toEqual([true, ''])
})

test('--answer-timeout bounds the start of an answer, never a stream once begun', async () => {
  const d = await startDaemon()
  const dir = mkdtempSync(join(tmpdir(), 'answer-'))
  try {
    // The command's stream outlasts the bound: it waits for a file made after that.
    const go = join(dir, 'go')
    const run = runCli(['exec', '--shell', `until [ -e ${go} ]; do sleep 0.05; done; echo done`, '--url', d.url], {
      env: { EXECD_ACCESS_TOKEN: d.token, EXECD_ANSWER_TIMEOUT: '3000' },
    })
    await Bun.sleep(4500)
    writeFileSync(go, '')
    expect(await run).toEqual({ code: 0, stdout: 'done\n', stderr: '' })
    for (const typed of ['abc', '-1', '1.5'])
      expect(await runCli(['fs', 'ls', '/', '--url', d.url, '--answer-timeout', typed])).toEqual({
        code: 2,
        stdout: '',
        stderr: `execd: --answer-timeout expects milliseconds from 1 to 31536000000 (0: no limit), got '${typed}'\n`,
      })
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await d.stop()
  }
})

test('ping: a --timeout or --url typed wrong is a usage error, not a daemon away', async () => {
  expect(await runCli(['ping', '--timeout', 'abc', '--port', String(closed)])).toEqual({
    code: 2,
    stdout: '',
    stderr: "execd: --timeout expects milliseconds from 1 to 86400000, got 'abc'\n",
  })
  expect(await runCli(['ping', '--url', 'nothttp'])).toEqual({
    code: 2,
    stdout: '',
    stderr: "execd: --url expects an http:// or https:// URL, got 'nothttp'\n",
  })
  // An http URL whose IPv6 zone no URL here takes: said as such, not as a URL that is not http.
  expect(await runCli(['ping', '--url', 'http://[fe80::1%25lo]:1'])).toEqual({
    code: 2,
    stdout: '',
    stderr:
      "execd: --url cannot name an IPv6 zone (its %zone part); give the address without it, or a host name: 'http://[fe80::1%25lo]:1'\n",
  })
})

test('a token missing or refused: one line saying which and naming EXECD_ACCESS_TOKEN, exit 1', async () => {
  const d = await startDaemon()
  try {
    const refused = 'execd: Unauthorized: invalid or missing header X-EXECD-ACCESS-TOKEN'
    for (const [token, why] of [
      ['', 'EXECD_ACCESS_TOKEN is not set'],
      ['wrong', 'the token in EXECD_ACCESS_TOKEN was refused'],
    ] as const) {
      for (const args of [
        ['exec', '--shell', 'true'],
        ['fs', 'ls', '/'],
        ['metrics', '--watch'],
      ]) {
        const run = await runCli([...args, '--url', d.url], { env: { EXECD_ACCESS_TOKEN: token } })
        expect([args[0], run]).toEqual([args[0], { code: 1, stdout: '', stderr: `${refused} (${why})\n` }])
      }
    }
  } finally {
    await d.stop()
  }
})

test("ping takes the daemon's address as every verb's --url does, and EXECD_URL", async () => {
  const d = await startDaemon()
  // Any web server: its root answers 200, its /ping 404.
  const web = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: req => new Response('hi', { status: new URL(req.url).pathname === '/' ? 200 : 404 }),
  })
  const env = { EXECD_ACCESS_TOKEN: d.token, EXECD_PORT: String(closed), EXECD_URL: '' }
  try {
    // It asked the daemon's `/` (404, exit 1) and said `answered 404`.
    for (const url of [d.url, `${d.url}/`, `${d.url}/ping`])
      expect([url, await runCli(['ping', '--url', url], { env })]).toEqual([url, { code: 0, stdout: '', stderr: '' }])
    // It asked the daemon on EXECD_PORT: nothing listens there.
    expect(await runCli(['ping'], { env: { ...env, EXECD_URL: d.url } })).toEqual({ code: 0, stdout: '', stderr: '' })
    // A wrong token was told to `set EXECD_ACCESS_TOKEN`.
    for (const [token, why] of [
      ['', 'EXECD_ACCESS_TOKEN is not set'],
      ['wrong', 'the token in EXECD_ACCESS_TOKEN was refused'],
    ] as const)
      expect(await runCli(['ping', '--url', d.url], { env: { ...env, EXECD_ACCESS_TOKEN: token } })).toEqual({
        code: 1,
        stdout: '',
        stderr: `execd ping: ${d.url}/ping answered 401 (${why})\n`,
      })
    // Another server's root passed for a ready execd.
    const base = `http://127.0.0.1:${web.port}`
    expect(await runCli(['ping', '--url', base], { env })).toEqual({
      code: 1,
      stdout: '',
      stderr: `execd ping: ${base}/ping answered 404\n`,
    })
  } finally {
    web.stop(true)
    await d.stop()
  }
})
