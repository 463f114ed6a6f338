/**
 * Remote mode: `--url` / EXECD_URL (token from EXECD_ACCESS_TOKEN) makes exec, fs and metrics
 * drive a running daemon with the same output and exit codes as local mode.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, runCli, startDaemon, waitFor, type CliRun, type Daemon } from './harness'
import { PYTHON, pythonAvailable } from './python-env'

let daemon: Daemon
let here: string
let there: string
beforeAll(async () => {
  daemon = await startDaemon()
  here = mkdtempSync(join(tmpdir(), 'execd-cli-remote-'))
  there = mkdtempSync(join(tmpdir(), 'execd-cli-daemon-'))
})
afterAll(async () => {
  await daemon.stop()
  rmSync(here, { recursive: true, force: true })
  rmSync(there, { recursive: true, force: true })
})

/** The verb here and against the daemon; both runs, with the daemon's paths in place of local ones. */
const remote = (args: string[], stdin?: string): Promise<CliRun> =>
  runCli([...args, '--url', daemon.url], { cwd: here, stdin, env: { EXECD_ACCESS_TOKEN: daemon.token } })
const local = (args: string[], stdin?: string): Promise<CliRun> => runCli(args, { cwd: here, stdin })

describe('fs', () => {
  test('put and get move bytes both ways; the output is that of local mode', async () => {
    const payload = Buffer.alloc(3 << 20)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
    writeFileSync(join(here, 'up.bin'), payload)
    expect(await remote(['fs', 'put', 'up.bin', join(there, 'up.bin'), '-v'])).toEqual({
      code: 0,
      stdout: `${join(there, 'up.bin')}: ${payload.length} bytes written\n`,
      stderr: '',
    })
    expect(readFileSync(join(there, 'up.bin')).equals(payload)).toBe(true)
    expect((await remote(['fs', 'get', join(there, 'up.bin'), 'down.bin'])).code).toBe(0)
    expect(readFileSync(join(here, 'down.bin')).equals(payload)).toBe(true)
    // Piped: no progress drawn on stderr.
    expect((await remote(['fs', 'put', '-', join(there, 'in.txt')], 'from stdin')).stderr).toBe('')
    expect((await remote(['fs', 'cat', join(there, 'in.txt')])).stdout).toBe('from stdin')
  })

  test('ls, stat, search, replace, mv, mkdir, chmod, rm, rmdir print as locally', async () => {
    writeFileSync(join(there, 'a.txt'), 'one two')
    for (const args of [
      ['fs', 'ls', there, '--json'],
      ['fs', 'stat', join(there, 'a.txt')],
      ['fs', 'search', there, '*.txt', '--json'],
    ]) {
      const [r, l] = [await remote(args), await local(args)]
      expect([args, r]).toEqual([args, l])
    }
    expect(JSON.parse((await remote(['fs', 'replace', join(there, 'a.txt'), 'one', '1', '--json'])).stdout)).toEqual({
      path: join(there, 'a.txt'),
      replaced: 1,
    })
    expect(readFileSync(join(there, 'a.txt'), 'utf8')).toBe('1 two')
    for (const args of [
      ['mkdir', join(there, 'd1', 'd2')],
      ['mv', join(there, 'a.txt'), join(there, 'd1', 'b.txt')],
      ['chmod', '600', join(there, 'd1', 'b.txt')],
    ])
      expect([args, await remote(['fs', ...args])]).toEqual([args, { code: 0, stdout: '', stderr: '' }])
    const refused = await remote(['fs', 'rmdir', join(there, 'd1')])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`execd: ${join(there, 'd1')}: directory not empty (-r deletes it all)\n`)
    expect((await remote(['fs', 'rmdir', '-r', join(there, 'd1')])).code).toBe(0)
    expect(readdirSync(there)).not.toContain('d1')
  })

  test('errors and exit codes are those of local mode', async () => {
    for (const args of [
      ['fs', 'stat', '/no/such/file'],
      ['fs', 'ls', '/tmp', '-d', 'x'],
      ['fs', 'chmod', '999', '/tmp/x'],
      ['fs', 'get', '/no/such/file', 'x'],
    ]) {
      const [r, l] = [await remote(args), await local(args)]
      expect([args, r.code, r.stderr]).toEqual([args, l.code, l.stderr])
    }
  })

  test('stat of many paths, some missing: two requests however many, and the output of local mode', async () => {
    // It asked again path by path: 1 + 40 requests for 40 paths. A daemon that does not know
    // ?missing=omit (the reference) is still asked path by path, with the same output.
    const paths: string[] = []
    for (let i = 0; i < 40; i++) {
      const path = join(there, `many-${i}`)
      if (i % 4 !== 1) writeFileSync(path, 'x')
      paths.push(path)
    }
    const asked: string[] = []
    for (const knowsOmit of [true, false]) {
      asked.length = 0
      const proxy = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        fetch(req) {
          const url = new URL(req.url)
          asked.push(url.pathname)
          if (!knowsOmit) url.searchParams.delete('missing')
          return fetch(`${daemon.url}${url.pathname}${url.search}`, { headers: req.headers })
        },
      })
      try {
        const args = ['fs', 'stat', ...paths]
        const r = await runCli([...args, '--url', `http://127.0.0.1:${proxy.port}`], {
          cwd: here,
          env: { EXECD_ACCESS_TOKEN: daemon.token },
        })
        const l = await local(args)
        expect([knowsOmit, r]).toEqual([knowsOmit, l])
        expect(r.code).toBe(1)
        expect(r.stdout.match(/^path /gm)).toHaveLength(30)
        expect(r.stderr).toContain(`${join(there, 'many-37')}: lstat`)
        expect(asked.filter(p => p === '/files/info')).toHaveLength(knowsOmit ? 2 : 2 + 40)
      } finally {
        await proxy.stop(true)
      }
    }
  })

  test('stat of paths failing otherwise than missing: those there printed, each failure named, as locally', async () => {
    // ?missing=omit answers a path's own failure (a symlink loop here: 400) for the whole
    // request, and fs stat printed nothing at all, here and against the daemon.
    const ok = join(there, 'stat-ok')
    const loop = join(there, 'stat-loop')
    writeFileSync(ok, 'x')
    symlinkSync(loop, loop)
    const paths = [ok, join(there, 'stat-missing'), join(loop, 'x')]
    const omit = await daemon.fetch(
      `/files/info?missing=omit&${paths.map(p => `path=${encodeURIComponent(p)}`).join('&')}`,
    )
    expect([omit.status, await omit.json()]).toEqual([
      400,
      {
        code: 'INVALID_REQUEST_BODY',
        message: `error accessing file: lstat ${paths[2]}: too many levels of symbolic links`,
      },
    ])
    const args = ['fs', 'stat', ...paths]
    const [r, l] = [await remote(args), await local(args)]
    expect(r).toEqual(l)
    expect(r.stdout.match(/^path .*$/gm)).toEqual([`path      ${ok}`])
    expect(r.stderr).toContain(`file not found: ${paths[1]}: lstat`)
    expect(r.stderr).toContain(`lstat ${paths[2]}: too many levels of symbolic links`)
    expect(r.code).not.toBe(0)
  })

  test('without the token: 401 as one line, exit 1', async () => {
    const r = await runCli(['fs', 'ls', '/', '--url', daemon.url], { cwd: here })
    expect(r.code).toBe(1)
    expect(r.stderr).toStartWith('execd: Unauthorized')
  })

  test('EXECD_URL names the daemon as --url does', async () => {
    const r = await runCli(['fs', 'stat', there, '--json'], {
      cwd: here,
      env: { EXECD_URL: daemon.url, EXECD_ACCESS_TOKEN: daemon.token },
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)[there].type).toBe('directory')
  })
})

test('exec --shell: output and exit code of the command, as locally', async () => {
  const args = ['exec', '--shell', 'echo out; echo err >&2; exit 3']
  const [r, l] = [await remote(args), await local(args)]
  expect(r).toEqual(l)
  expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' })
})

test.skipIf(pythonAvailable !== true)('exec python: output, display() and a failing cell as locally', async () => {
  // What display() shows, not the last value (as python3 -c: spec/exec-one-shot-values.test.ts).
  const ok = ['exec', 'python', 'print("hi")\ndisplay(6 * 7)\n6 * 8']
  expect(await remote(ok)).toEqual({ code: 0, stdout: 'hi\n42\n', stderr: '' })
  const bad = ['exec', 'python', 'raise ValueError("nope")']
  const [r, l] = [await remote(bad), await local(bad)]
  expect([r.code, r.stderr]).toEqual([l.code, l.stderr])
  expect(r.code).toBe(1)
  // The run's context is gone with it.
  const contexts = await (await daemon.fetch('/code/contexts')).json()
  expect(contexts).toEqual([])
})

test('metrics: the five fields, from the daemon', async () => {
  const r = await remote(['metrics', '--json'])
  expect(r.code).toBe(0)
  expect(Object.keys(JSON.parse(r.stdout)).sort()).toEqual([
    'cpu_count',
    'cpu_used_pct',
    'mem_total_mib',
    'mem_used_mib',
    'timestamp',
  ])
})

test('a daemon out of reach is one line (exit 1); a URL that is none is a usage error (exit 2)', async () => {
  const { freePort } = await import('./harness')
  const url = `http://127.0.0.1:${await freePort()}`
  expect(await runCli(['metrics', '--url', url])).toEqual({
    code: 1,
    stdout: '',
    stderr: `execd: cannot reach ${url}: connection refused (is execd serve running there, on that port?)\n`,
  })
  expect(await runCli(['fs', 'ls', '--url', 'sandbox:44772'])).toEqual({
    code: 2,
    stdout: '',
    stderr: "execd: --url expects an http:// or https:// URL, got 'sandbox:44772'\n",
  })
})

describe.skipIf(pythonAvailable !== true)('a signal while the context is made', () => {
  test('the verb exits 130 and no context is left on the daemon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execd-cli-slow-python-'))
    const marker = join(dir, 'started')
    // A python that takes its time to start, and says when it has begun.
    const slow = join(dir, 'python')
    writeFileSync(slow, `#!/bin/sh\n: > ${marker}\nsleep 1.5\nexec ${PYTHON} "$@"\n`, { mode: 0o755 })
    const d = await startDaemon({ env: { EXECD_PYTHON: slow, EXECD_PYTHON_SPARE: '0' } })
    try {
      const cli = Bun.spawn([BIN, 'exec', 'python', 'print(1)', '--url', d.url], {
        env: { ...process.env, EXECD_ACCESS_TOKEN: d.token },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      await waitFor('the context to be being made', () => existsSync(marker))
      cli.kill('SIGINT')
      expect(await cli.exited).toBe(130)
      const contexts = async () => (await (await d.fetch('/code/contexts?language=python')).json()) as unknown[]
      // The verb exits at once (Ctrl-C must not wait for a JVM); the daemon gives up a context
      // whose request went away, so none is left until its idle limit (30 min).
      await waitFor('no context left', async () => (await contexts()).length === 0, 10_000)
    } finally {
      await d.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
