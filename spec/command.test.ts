/** Contract tests for /command (CONTRACT §2, §4) against the compiled executable. */
import { describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { commandFrames, follow, lastEvent as last, texts } from './command-stream'
import { postJson, readSse, rssMiB } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { documentedStatuses } from './kit/documented'

const fx = daemonWithDir('cmd', tmp => {
  writeFileSync(join(tmp, 'envs'), '# comment\nFROM_FILE=file-$HOME\n')
  return { env: { EXECD_ENVS: join(tmp, 'envs') } }
})

const run = (body: Record<string, unknown>) => commandFrames(fx.d, body)
/** A process that still runs (a zombie waiting for its reaper has stopped running). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

describe('POST /command (foreground)', () => {
  test('a non-zero exit is one CommandExecError event with the code, and no execution_complete', async () => {
    const frames = await run({ command: 'echo before; echo oops >&2; exit 3' })
    expect(texts(frames)).toEqual(['before'])
    expect(texts(frames, 'stderr')).toEqual(['oops'])
    expect(last(frames).error).toEqual({ ename: 'CommandExecError', evalue: '3', traceback: ['exit status 3'] })
    expect(frames.filter(f => ['error', 'execution_complete'].includes(f.data.type))).toHaveLength(1)
  })

  test('a command killed by a signal reports -1', async () => {
    const frames = await run({ command: 'kill -KILL $$' })
    expect(last(frames).error).toMatchObject({ evalue: '-1', traceback: ['signal: killed'] })
  })

  test("every signal is said in Go's words, a real-time one as Go's `signal N`", async () => {
    // The SDKs show os/exec's words; execd said `signal: usr1` and `signal: 34`.
    for (const [sig, words] of [
      ['USR1', 'signal: user defined signal 1'],
      ['XCPU', 'signal: CPU time limit exceeded'],
      ['SYS', 'signal: bad system call'],
      ['34', 'signal: signal 34'],
    ]) {
      const frames = await run({ command: `kill -${sig} $$` })
      expect([sig, last(frames).error]).toEqual([sig, { ename: 'CommandExecError', evalue: '-1', traceback: [words] }])
    }
  })

  test('envs, the EXECD_ENVS file and cwd reach the command; stdin is /dev/null', async () => {
    const frames = await run({
      command: 'echo "$FOO $FROM_FILE"; pwd; cat; echo end',
      envs: { FOO: 'bar' },
      cwd: fx.tmp,
    })
    expect(texts(frames)).toEqual([`bar file-${process.env.HOME}`, fx.tmp, 'end'])
  })

  test('timeout kills the whole group, grandchildren included, and says timeout', async () => {
    const res = await postJson(fx.d, '/command', { command: 'sleep 300 & echo $!; wait', timeout: 500 })
    const frames = await readSse(res)
    const pid = Number(texts(frames)[0])
    expect(last(frames).error.evalue).toBe('-1')
    expect(last(frames).error.traceback[0]).toContain('timeout')
    expect(alive(pid)).toBe(false)
    const status = await (await fx.d.fetch(`/command/status/${frames[0]?.data.text}`)).json()
    expect(status).toMatchObject({ running: false, exit_code: -1 })
    expect(status.error).toContain('timeout')
  })

  test('a background job left running does not hold the stream open', async () => {
    const frames = await run({ command: 'sleep 30 & echo $!; echo bye' })
    expect(texts(frames).slice(1)).toEqual(['bye'])
    expect(last(frames).type).toBe('execution_complete')
    process.kill(Number(texts(frames)[0]), 'SIGKILL')
  })

  test('status answers right after init, while the command runs', async () => {
    const { id, stream } = await follow(await postJson(fx.d, '/command', { command: 'sleep 0.5; echo done' }))
    const status = await fx.d.fetch(`/command/status/${id}`)
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ id, running: true })
    expect(texts(await stream)).toEqual(['done'])
  })

  test('a client that stops reading stops the command (its pipe fills), not execd memory', async () => {
    // A raw connection that reads the first output and then no more: the socket buffers fill,
    // the stream stops pulling, the journal stops taking lines, execd stops reading the pipe,
    // and `yes` blocks. A runaway would read on at pipe speed into memory; the bounds hold
    // however long we wait (the wait only gives a runaway time to show).
    const rss = () => rssMiB(fx.d.proc.pid)
    const rssBefore = rss()
    const body = JSON.stringify({ command: `yes ${'y'.repeat(1023)}` })
    const { hostname: host, port } = new URL(fx.d.url)
    const sock = connect({ host, port: Number(port) })
    let head = ''
    const id = await new Promise<string>((resolve, reject) => {
      sock.on('error', reject)
      sock.on('data', chunk => {
        head += chunk.toString('latin1')
        const m = /"type":"init","text":"([0-9a-f]+)"/.exec(head)
        if (m && head.includes('"type":"stdout"')) {
          sock.pause()
          resolve(m[1]!)
        }
      })
      sock.write(
        `POST /command HTTP/1.1\r\nHost: ${host}\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )
    })
    try {
      await Bun.sleep(3000)
      const logged = (await (await fx.d.fetch(`/command/${id}/logs`)).arrayBuffer()).byteLength
      expect((await (await fx.d.fetch(`/command/status/${id}`)).json()).running).toBe(true)
      // In flight at most: the journal (1 MiB), the socket buffers both ways, the pipe.
      expect(logged).toBeLessThan(32 * 1024 * 1024)
      expect(rss() - rssBefore).toBeLessThan(40)
    } finally {
      await (await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })).arrayBuffer()
      sock.destroy()
    }
  })

  test('abandoning a long stream leaves the command running and /ping answering', async () => {
    const res = await postJson(fx.d, '/command', { command: 'echo long-run-start; sleep 2; echo finished' })
    const frames = await readSse(res, f => f.data.type === 'stdout')
    const id = frames[0]?.data.text
    expect((await fx.d.fetch('/ping')).status).toBe(200)
    expect((await (await fx.d.fetch(`/command/status/${id}`)).json()).running).toBe(true)
    const replay = await readSse(await fx.d.fetch(`/command/${id}/events`))
    expect(texts(replay)).toEqual(['long-run-start', 'finished'])
    const logs = await fx.d.fetch(`/command/${id}/logs`)
    expect(await logs.text()).toBe('long-run-start\nfinished\n')
  })
})

describe('background commands', () => {
  test('init then execution_complete at once; status until finished; logs with a byte cursor', async () => {
    const frames = await run({ command: 'echo smoke-command; sleep 1; echo second >&2', background: true })
    expect(frames.map(f => f.data.type)).toEqual(['init', 'execution_complete'])
    const id = frames[0]?.data.text
    let status: any
    for (let i = 0; i < 150; i++) {
      status = await (await fx.d.fetch(`/command/status/${id}`)).json()
      if (!status.running) break
      await Bun.sleep(100)
    }
    expect(status).toMatchObject({
      id,
      content: 'echo smoke-command; sleep 1; echo second >&2',
      running: false,
      exit_code: 0,
    })
    expect(status.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    expect(status.finished_at).toBeString()
    const all = await fx.d.fetch(`/command/${id}/logs?cursor=0`)
    expect(all.headers.get('content-type')).toStartWith('text/plain')
    expect(await all.text()).toBe('smoke-command\nsecond\n')
    expect(all.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('21')
    const tail = await fx.d.fetch(`/command/${id}/logs?cursor=14`)
    expect(await tail.text()).toBe('second\n')
    const past = await fx.d.fetch(`/command/${id}/logs?cursor=999`)
    expect(await past.text()).toBe('')
    expect(past.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('999')
    // Not a decimal integer (as the reference's QueryInt64 reads one): from the start.
    for (const cursor of ['1e308', '0x10', '1.0', '1.5', 'NaN', '', '%2014', '99999999999999999999']) {
      const odd = await fx.d.fetch(`/command/${id}/logs?cursor=${cursor}`)
      expect([cursor, odd.status, await odd.text()]).toEqual([cursor, 200, 'smoke-command\nsecond\n'])
      expect(odd.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('21')
    }
    expect((await fx.d.fetch(`/command/${id}/logs?cursor=-1`)).status).toBe(400)
    expect(await documentedStatuses(fx.d, 'GET', '/command/{id}/logs')).toContain('400')
  })
})

describe('interrupt: DELETE /command?id=', () => {
  for (const [name, command] of [
    ['a plain program', 'sleep 300'],
    ['a program that ignores SIGTERM', "trap '' TERM; sleep 300"],
  ] as const) {
    test(`stops ${name} within 1 s and reports it`, async () => {
      const { id, stream } = await follow(await postJson(fx.d, '/command', { command }))
      const t0 = Date.now()
      const del = await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })
      const ms = Date.now() - t0
      const frames = await stream
      const status = await (await fx.d.fetch(`/command/status/${id}`)).json()
      // One look at every fact, so that a failure shows them all (the frames, the status).
      expect({
        inTime: ms < 1000,
        answer: [del.status, del.headers.get('content-length')],
        types: frames.map(f => f.data.type),
        error: last(frames).error,
        status,
      }).toMatchObject({
        inTime: true,
        answer: [200, '0'],
        types: ['init', 'ping', 'error'],
        error: { evalue: '-1' },
        status: { running: false, exit_code: -1 },
      })
    })
  }

  test('a program that traps SIGTERM and exits reports its code', async () => {
    const res = await postJson(fx.d, '/command', {
      command: "trap 'echo bye; exit 7' TERM; echo ready; sleep 300 & wait",
    })
    const { id, stream } = await follow(res, f => f.data.text === 'ready')
    await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })
    const frames = await stream
    expect(texts(frames)).toEqual(['ready', 'bye'])
    expect(last(frames).error).toMatchObject({ evalue: '7', traceback: ['exit status 7'] })
  })

  test('unknown id → 404 CONTEXT_NOT_FOUND; missing id → 400 MISSING_QUERY', async () => {
    const unknown = await fx.d.fetch('/command?id=nope', { method: 'DELETE' })
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).code).toBe('CONTEXT_NOT_FOUND')
    const missing = await fx.d.fetch('/command', { method: 'DELETE' })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toEqual({ code: 'MISSING_QUERY', message: "missing query parameter 'id'" })
  })
})

describe('bad input is a 400 JSON error before any stream', () => {
  const cases: [string, unknown, string][] = [
    ['missing command', {}, 'INVALID_REQUEST_BODY'],
    ['empty command', { command: '' }, 'INVALID_REQUEST_BODY'],
    ['gid without uid', { command: 'true', gid: 0 }, 'INVALID_REQUEST_BODY'],
    ['unknown cwd', { command: 'true', cwd: '/no/such/dir' }, 'INVALID_REQUEST_BODY'],
    ['negative timeout', { command: 'true', timeout: -1 }, 'INVALID_REQUEST_BODY'],
    ['invalid JSON', '{"command":', 'INVALID_REQUEST_BODY'],
  ]
  for (const [name, body, code] of cases) {
    test(name, async () => {
      const res = await postJson(fx.d, '/command', body)
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toStartWith('application/json')
      expect((await res.json()).code).toBe(code)
    })
  }

  test('unknown ids for status, logs and events → 404 CONTEXT_NOT_FOUND', async () => {
    for (const path of ['/command/status/nope', '/command/nope/logs', '/command/nope/events']) {
      const res = await fx.d.fetch(path)
      expect(res.status).toBe(404)
      expect((await res.json()).code).toBe('CONTEXT_NOT_FOUND')
    }
  })
})
