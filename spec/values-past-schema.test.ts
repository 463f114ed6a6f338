/**
 * Values that pass the schema and then did harm (commands, environments, working directories,
 * sizes, waits), refused or honoured now: each test fails on the executable before its fix
 * (file names: spec/files-names-past-schema.test.ts). No timing: answers are read whole and
 * their statuses, codes and bytes compared.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, runCli, runCliSync, startDaemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { portOf } from './raw-http'
import { refused } from './kit/refused'
import { UPGRADE_HEADERS } from './kit/upgrade-headers'

const fx = daemonWithDir('values')

describe('POST /command: values no process can be given are a 400 before the stream', () => {
  // Each was a 200 stream: init, then an error event quoting the runtime ("The property
  // 'options.env['A\u0000B']' must be a string without null bytes", "E2BIG: argument list too
  // long, posix_spawn 'bash'"), or — a background command — init and execution_complete, the
  // failure only in its status (exit_code 255). A name with '=' ran the command with another
  // variable than the one named: {"A=B":"1"} set A to "B=1".
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a NUL in an env name', { envs: { 'A\u0000B': '1' } }, /envs: environment variable name contains a NUL byte/],
    ['a NUL in an env value', { envs: { A: 'x\u0000y' } }, /envs: environment variable A contains a NUL byte/],
    ["'=' in an env name", { envs: { 'A=B': '1' } }, /envs: environment variable name contains '='/],
    ['an empty env name', { envs: { '': '1' } }, /envs: an environment variable name is empty/],
    // Sixteenth pass: `env` in the command printed it as a variable B (the CLI's --env agrees).
    ['a newline in an env name', { envs: { 'A\nB': '1' } }, /envs: environment variable name contains a newline/],
    [
      'an env entry past 128 KiB',
      { envs: { A: 'x'.repeat(200_000) } },
      /environment variable A is longer than one entry/,
    ],
    ['a NUL in the command', { command: 'echo a\u0000b' }, /command contains a NUL byte/],
    ['a command past 128 KiB', { command: `echo ${'a'.repeat(200_000)}` }, /command is longer than one argument/],
    [
      'an environment past ARG_MAX together',
      { envs: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`V${i}`, 'y'.repeat(60_000)])) },
      /too large to start \(E2BIG/,
    ],
  ]
  for (const background of [false, true]) {
    for (const [what, body, message] of cases) {
      test(`${what}${background ? ' (background)' : ''}`, async () => {
        const r = await refused(await postJson(fx.d, '/command', { command: 'echo hi', ...body, background }))
        expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
        expect(r.message).toMatch(message)
        expect(r.message).not.toContain('posix_spawn')
      })
    }
  }

  test('names that are not shell identifiers still reach the command as they are', async () => {
    const res = await postJson(fx.d, '/command', {
      command: 'env | grep -a -E "^(1A|A B|ü)="',
      envs: { '1A': 'one', 'A B': 'two', ü: 'three' },
    })
    expect(res.status).toBe(200)
    const out = (await readSse(res)).filter(f => f.data.type === 'stdout').map(f => f.data.text)
    expect(out.sort()).toEqual(['1A=one', 'A B=two', 'ü=three'])
  })
})

describe('POST /pty: a command no spawn takes is a 400 at create', () => {
  // It was a 201, and the WebSocket then closed with 1011 START_FAILED quoting the runtime.
  test('a NUL in the command, or one past 128 KiB', async () => {
    for (const command of ['echo a\u0000b', `echo ${'a'.repeat(200_000)}`]) {
      const r = await refused(await postJson(fx.d, '/pty', { command }))
      expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(r.message).toStartWith('error creating pty session: command ')
    }
  })
})

describe.skipIf(!Bun.which('bwrap'))('isolated run: an env value with a NUL is a 400', () => {
  // The session's shell dropped the NUL without a word: {"A":"x\u0000y"} arrived as "xy".
  test('refused, and the shell never sees it', async () => {
    const workspace = join(fx.tmp, 'ws')
    mkdirSync(workspace)
    const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: workspace } })
    expect(created.status).toBe(201)
    const { session_id } = (await created.json()) as { session_id: string }
    try {
      const r = await refused(
        await postJson(fx.d, `/v1/isolated/session/${session_id}/run`, {
          code: 'echo "[$A]"',
          envs: { A: 'x\u0000y' },
        }),
      )
      expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(r.message).toContain('envs: environment variable A contains a NUL byte')
      const after = await postJson(fx.d, `/v1/isolated/session/${session_id}/run`, { code: 'echo "[${A-unset}]"' })
      const out = (await readSse(after)).filter(f => f.data.type === 'stdout').map(f => f.data.text)
      expect(out).toEqual(['[unset]'])
      // "__proto__" as a name vanished in the validator; refused like the command's.
      const proto = await refused(
        await fx.d.fetch(`/v1/isolated/session/${session_id}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"code":"true","envs":{"__proto__":"x"}}',
        }),
      )
      expect(proto).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      // A lone surrogate reached the shell as U+FFFD.
      const surrogate = await refused(
        await fx.d.fetch(`/v1/isolated/session/${session_id}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"code":"true","envs":{"A":"x\\udc00"}}',
        }),
      )
      expect(surrogate).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
      expect(surrogate.message).toContain('envs: environment variable "A" is not valid Unicode')
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${session_id}`, { method: 'DELETE' })
    }
  })
})

describe('a map key "__proto__" is refused, never dropped', () => {
  // The body validator builds a record anew by assignment, where "__proto__" sets the prototype:
  // the entry vanished. A replace, chmod or mkdir of a file named __proto__ (relative to execd's
  // directory) answered 200 and changed nothing; a command's envs {"__proto__": "x"} ran without it.
  test('files: replace, permissions, directories', async () => {
    for (const [path, body] of [
      ['/files/replace', { __proto__x: { old: 'l', new: 'L' } }],
      ['/files/permissions', { __proto__x: { mode: 600 } }],
      ['/directories', { __proto__x: { mode: 700 } }],
    ] as const) {
      const text = JSON.stringify(body).replace('__proto__x', '__proto__')
      const r = await refused(
        await fx.d.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }),
      )
      expect([path, r.status, r.code]).toEqual([path, 400, 'INVALID_REQUEST_BODY'])
      expect(r.message).toContain('"./__proto__"')
    }
  })

  test('command envs', async () => {
    const r = await refused(
      await fx.d.fetch('/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"command":"echo $X","envs":{"__proto__":"x","X":"1"}}',
      }),
    )
    expect(r).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
    expect(r.message).toContain('__proto__ is not supported')
  })
})

describe('waits of 2^31 ms or more are that long (setTimeout took them as 1 ms)', () => {
  test('serve --body-timeout 3000000000: a JSON body that arrives in two pieces is read, not a 408', async () => {
    const slow = await startDaemon({ token: null, args: ['--body-timeout', '3000000000'] })
    try {
      const body = '{"command":"echo in two pieces"}'
      const reply = await new Promise<string>((resolve, reject) => {
        let text = ''
        void Bun.connect({
          hostname: '127.0.0.1',
          port: portOf(slow.url),
          socket: {
            async open(socket) {
              socket.write(
                `POST /command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
                  `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
              )
              await Bun.sleep(200) // the rest comes later than 1 ms after the head
              socket.write(body.slice(5))
            },
            data(_, chunk) {
              text += chunk.toString()
            },
            close: () => resolve(text),
            error: (_, err) => reject(err),
          },
        }).catch(reject)
      })
      expect(reply).toStartWith('HTTP/1.1 200')
      expect(reply).toContain('"text":"in two pieces"')
      expect(slow.logs()).not.toContain('TimeoutOverflowWarning')
    } finally {
      await slow.stop()
    }
  })

  test('exec --timeout 3000000000: the cell runs to its end, not interrupted at once', async () => {
    const r = await runCli(['exec', 'bash', 'sleep 0.2; echo ran to the end', '--timeout', '3000000000'])
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'ran to the end\n', ''])
  })
})

test('CLI exec --env __proto__=x: exit 2 with one line, as the daemon refuses it (it ran without the variable, exit 0)', () => {
  const r = runCliSync(['exec', '--shell', 'echo "[$__proto__]"', '--env', '__proto__=x'])
  expect([r.code, r.stdout, r.stderr]).toEqual([
    2,
    '',
    'execd: --env: the environment variable name __proto__ is not supported\n',
  ])
})

describe.skipIf(!Bun.which('bwrap'))('isolated create: a bind no sandbox can take is a 400', () => {
  // dest "/" answered 500 RUNTIME_ERROR "the isolated session did not start: bash has exited",
  // a dest with a NUL 500 quoting the runtime ("The argument 'args[46]' must be a string
  // without null bytes").
  test('dest / and a dest with a NUL', async () => {
    const allowed = join(fx.tmp, 'binds')
    const workspace = join(fx.tmp, 'binds-ws')
    mkdirSync(allowed)
    mkdirSync(workspace)
    const isolated = await startDaemon({ args: ['--isolated-binds', allowed] })
    try {
      for (const [dest, message] of [
        ['/', 'binds[0].dest cannot be /'],
        ['//.', 'binds[0].dest cannot be /'],
        ['/x\u0000y', 'binds[0].dest contains a NUL byte'],
      ] as const) {
        const r = await refused(
          await postJson(isolated, '/v1/isolated/session', {
            workspace: { path: workspace },
            binds: [{ source: allowed, dest }],
          }),
        )
        expect([dest, r.status, r.code]).toEqual([dest, 400, 'INVALID_REQUEST_BODY'])
        expect(r.message).toContain(message)
      }
    } finally {
      await isolated.stop()
    }
  })
})

describe.skipIf(!Bun.which('bwrap'))('CLI exec --isolated: an unknown --mode or --profile is a usage error', () => {
  // `--mode overlya` ran the command with the workspace read-only (a write failed naming
  // execd's script, exit 1), `--profile x` as strict (exit 0): neither said what was wrong.
  test('exit 2, one line, the workspace untouched', () => {
    const workspace = join(fx.tmp, 'cli-isolated')
    mkdirSync(workspace)
    for (const [flag, value, message] of [
      ['--mode', 'overlya', 'workspace.mode must be rw, ro or overlay, got "overlya"'],
      ['--profile', 'x', 'profile must be strict or balanced, got "x"'],
    ] as const) {
      const r = runCliSync(['exec', '--isolated', workspace, flag, value, 'echo changed > f'])
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `execd: ${message}\n`])
      expect(readdirSync(workspace)).toEqual([])
    }
  })
})

test('/proxy/<port>: a port that is no port is a 400 naming it, for HTTP and WebSocket (it was a 502)', async () => {
  for (const port of ['0', '-1', '65536', 'abc', '1e3', '0x50', '00047391']) {
    for (const upgrade of [false, true]) {
      const headers = upgrade ? UPGRADE_HEADERS : {}
      const r = await refused(await fx.d.fetch(`/proxy/${port}/x`, { headers }))
      expect([port, upgrade, r.status, r.code]).toEqual([port, upgrade, 400, 'INVALID_REQUEST_BODY'])
      expect(r.message).toBe(`invalid port "${port}": a whole number from 1 to 65535`)
    }
  }
})

describe('a lone surrogate (valid JSON, no Unicode) is a 400, never U+FFFD', () => {
  // It reached the kernel as U+FFFD: POST /directories of "a\ud800b" made "a\ufffdb" (and
  // "a\udc00b" the same directory), a command's env value and its text arrived changed, and a
  // replace's old "\ud800" matched the file's U+FFFD.
  test('paths, command and envs, replace', async () => {
    const dir = join(fx.tmp, 'surrogates')
    mkdirSync(dir)
    writeFileSync(join(dir, 'f'), 'keep \ufffd here')
    const send = (path: string, body: string) =>
      fx.d.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const cases: [string, string, string][] = [
      ['/directories', `{"${dir}/a\\ud800b":{}}`, 'invalid path: not valid Unicode'],
      ['/command', '{"command":"echo a\\ud800b"}', 'command is not valid Unicode'],
      ['/command', '{"command":"true","envs":{"X":"a\\udc00"}}', 'is not valid Unicode'],
      ['/files/replace', `{"${dir}/f":{"old":"\\ud800","new":"x"}}`, 'old and new must be valid Unicode'],
    ]
    for (const [path, body, message] of cases) {
      const r = await refused(await send(path, body))
      expect([path, r.status, r.code]).toEqual([path, 400, 'INVALID_REQUEST_BODY'])
      expect(r.message).toContain(message)
    }
    expect(readdirSync(dir)).toEqual(['f'])
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('keep \ufffd here')
  })
})

test('a working directory with a NUL or a lone surrogate is a 400 saying so, nothing made', async () => {
  // A NUL answered "error ERR_INVALID_ARG_VALUE"; a lone surrogate made a directory named with
  // U+FFFD for a code context or a session (which create their cwd).
  const base = join(fx.tmp, 'cwds')
  mkdirSync(base)
  const send = (path: string, body: string) =>
    fx.d.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  for (const [path, field] of [
    ['/code/context', '"language":"bash",'],
    ['/session', ''],
    ['/command', '"command":"pwd",'],
    ['/pty', ''],
  ] as const) {
    for (const [cwd, message] of [
      [`${base}/a\\u0000b`, 'working directory contains a NUL byte'],
      [`${base}/a\\ud800b`, 'working directory is not valid Unicode'],
    ] as const) {
      const r = await refused(await send(path, `{${field}"cwd":"${cwd}"}`))
      expect([path, r.status, r.code]).toEqual([path, 400, 'INVALID_REQUEST_BODY'])
      expect(r.message).toContain(message)
    }
  }
  expect(readdirSync(base)).toEqual([])
})
