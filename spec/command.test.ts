/** Contract tests for /command (CONTRACT §2, §4) against the compiled executable. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { follow } from './command-stream'
import { postJson, readSse, startDaemon, type Daemon, type SseFrame } from './harness'

let d: Daemon
let tmp: string
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'execd-spec-cmd-'))
  writeFileSync(join(tmp, 'envs'), '# comment\nFROM_FILE=file-$HOME\n')
  d = await startDaemon({ env: { EXECD_ENVS: join(tmp, 'envs') } })
})
afterAll(async () => {
  await d?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

const run = async (body: Record<string, unknown>) => {
  const res = await postJson(d, '/command', body)
  expect(res.status).toBe(200)
  return readSse(res)
}
const texts = (frames: SseFrame[], type = 'stdout') => frames.filter(f => f.data.type === type).map(f => f.data.text)
const last = (frames: SseFrame[]) => frames[frames.length - 1]?.data
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
  test('blank lines are split exactly as the reference smoke test expects', async () => {
    const frames = await run({ command: "printf 'a\\n\\nb\\n\\n\\nc\\n'" })
    expect(texts(frames)).toEqual(['a', '\n', 'b', '\n', '\n', 'c'])
    expect(frames[0]?.data.type).toBe('init')
    expect(frames[0]?.data.text).toMatch(/^[0-9a-f]{32}$/)
    expect(frames[1]?.data).toMatchObject({ type: 'ping', text: 'pong' })
    expect(last(frames).type).toBe('execution_complete')
    expect(frames.map(f => Number(f.id))).toEqual(frames.map((_, i) => i + 1))
  })

  test('output frames stay byte for byte what they were: escapes, invalid UTF-8, \r, a character split across writes', async () => {
    // Pins the wire bytes of output lines (only the timestamps vary), whatever path encodes them.
    const command = String.raw`printf 'plain\r\nq"b\\s\tt\001\177 <&>\n'; printf '\377\376 ok \303\251 \342\202\n\n\rsplit \360\237'; printf '\230\200 tail'`
    const res = await postJson(d, '/command', { command })
    const body = (await res.text()).replace(/"timestamp":\d+/g, '"timestamp":T')
    const from = body.indexOf('id: 3\n')
    const to = body.indexOf('id: 9\n')
    expect(body.slice(to)).toStartWith('id: 9\ndata: {"type":"execution_complete"')
    expect(body.slice(from, to)).toBe(
      'id: 3\ndata: {"type":"stdout","text":"plain","timestamp":T}\n\n' +
        'id: 4\ndata: {"type":"stdout","text":"q\\"b\\\\s\\tt\\u0001\u007f <&>","timestamp":T}\n\n' +
        'id: 5\ndata: {"type":"stdout","text":"\ufffd\ufffd ok \u00e9 \ufffd","timestamp":T}\n\n' +
        'id: 6\ndata: {"type":"stdout","text":"\\n","timestamp":T}\n\n' +
        'id: 7\ndata: {"type":"stdout","text":"\\n","timestamp":T}\n\n' +
        'id: 8\ndata: {"type":"stdout","text":"split \u{1f600} tail","timestamp":T}\n\n',
    )
  })

  test('long and partial lines: every frame is the compact JSON of its text, and the texts add up to the output', async () => {
    // 300 KB of ASCII with no newline (cut into pieces), a long line of é, progress bars over
    // CR, a quote and a tab inside a long line, and an unterminated tail.
    const script = [
      `head -c 300000 /dev/zero | tr '\\0' a`,
      `printf '\\n'`,
      `head -c 100000 /dev/zero | tr '\\0' '\\351' | iconv -f latin1 -t utf-8`,
      `printf '\\r10%%\\r20%%\\r\\n'`,
      `head -c 70000 /dev/zero | tr '\\0' b; printf '"\\t'; head -c 70000 /dev/zero | tr '\\0' c`,
      `printf '\\nend without newline'`,
    ].join('; ')
    const res = await postJson(d, '/command', { command: script })
    const body = await res.text()
    const texts: string[] = []
    for (const block of body.split('\n\n').filter(Boolean)) {
      const data = block.slice(block.indexOf('data: ') + 6)
      const event = JSON.parse(data)
      if (event.type !== 'stdout') continue
      expect(data).toBe(`{"type":"stdout","text":${JSON.stringify(event.text)},"timestamp":${event.timestamp}}`)
      expect(event.text.length).toBeGreaterThan(0)
      texts.push(event.text)
    }
    const joined = texts.join('')
    const want = `${'a'.repeat(300000)}${'é'.repeat(100000)}10%20%${'b'.repeat(70000)}"\t${'c'.repeat(70000)}end without newline`
    // A cut piece and a whole line cannot be told apart in the frames; the output they carry can.
    expect(joined.length).toBe(want.length)
    expect(joined).toBe(want)
  })

  test('4 MiB of short lines with odd bytes here and there: every frame byte for byte, on stdout and on stderr', async () => {
    // Pipe reads of this size take execd's whole-chunk path (a chunk with nothing to escape
    // has only clean lines, framed from their bytes); a line with a quote, a backslash, a
    // control, CR, CRLF, DEL, a UTF-8 character or an invalid byte must still be its JSON.
    const odd = ['"', '\\', '\t', '\r', '\r\n', '\u0001', '\u001f', '\u007f', 'é', '\u{1f600}', '\xff']
    let seed = 7
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const lines: string[] = []
    // A line in twenty odd in the first 256 KiB; after that one every ~100 KiB, so that many
    // reads have a single odd byte, anywhere in them.
    for (let size = 0, next = 1 << 18; size < 4 << 20;) {
      let line = ''
      for (let k = rand(300); k > 0; k--) line += String.fromCharCode(0x20 + rand(0x5f)).replace(/["\\]/, 'x')
      const sparse = size >= next
      if (sparse) next = size + 90_000 + rand(20_000)
      if (sparse || (size < 1 << 18 && rand(20) === 0)) {
        const at = rand(line.length + 1)
        line = line.slice(0, at) + odd[rand(odd.length)] + line.slice(at)
      }
      lines.push(line)
      size += line.length + 1
    }
    // bytes as written: \xff stays one invalid byte, the rest UTF-8
    const parts = lines.join('\n') + '\nno newline at the end'
    const bytes = Buffer.concat(
      parts.split('\xff').flatMap((p, i) => (i ? [Buffer.from([0xff]), Buffer.from(p)] : [Buffer.from(p)])),
    )
    const file = join(tmp, 'odd-lines')
    writeFileSync(file, bytes)
    const want = new TextDecoder()
      .decode(bytes)
      .split(/\r\n|\r|\n/)
      .map(t => (t === '' ? '\n' : t))
    for (const [type, redirect] of [
      ['stdout', ''],
      ['stderr', ' >&2'],
    ]) {
      const res = await postJson(d, '/command', { command: `cat ${file}${redirect}` })
      const body = (await res.text()).replace(/"timestamp":\d+/g, '"timestamp":T')
      const from = body.indexOf('id: 3\n')
      const end = body.indexOf(`id: ${3 + want.length}\n`)
      expect(body.slice(end)).toStartWith(`id: ${3 + want.length}\ndata: {"type":"execution_complete"`)
      const frames = want.map(
        (t, i) => `id: ${3 + i}\ndata: {"type":"${type}","text":${JSON.stringify(t)},"timestamp":T}\n\n`,
      )
      expect(body.slice(from, end)).toBe(frames.join(''))
    }
  })

  test('a line longer than 64 Ki units is cut into 64 Ki pieces whatever the reads: foreground, replay and logs', async () => {
    // Before, a long line was cut only while its end had not been read yet, so its pieces
    // depended on how the pipe's reads fell. python writes a 200,000-byte line and its newline
    // in one write; head | tr; echo writes them apart; a 4-byte character straddles a cut (the
    // piece ends before it rather than split its surrogate pair); the last line has no newline.
    const [x, y, z, v] = [
      `python3 -c 'import sys; sys.stdout.write("x" * 200000 + "\\n")'`,
      `head -c 200000 /dev/zero | tr '\\0' y; echo`,
      `head -c 65535 /dev/zero | tr '\\0' z; printf '\\360\\237\\230\\200wwww\\n'`,
      `head -c 200000 /dev/zero | tr '\\0' v`,
    ]
    const cut = (c: string) => [c.repeat(65536), c.repeat(65536), c.repeat(65536), c.repeat(3392)]
    const pair = ['z'.repeat(65535), '\u{1f600}wwww']
    expect(texts(await run({ command: [x, y, z, v].join('; ') }))).toEqual([
      ...cut('x'),
      ...cut('y'),
      ...pair,
      ...cut('v'),
    ])
    // a background command's replay has the same pieces (less output: its journal keeps 1 MiB);
    // its logs are the output as it came
    const id = (await run({ command: [x, z].join('; '), background: true }))[0]?.data.text
    while ((await (await d.fetch(`/command/status/${id}`)).json()).running) await Bun.sleep(50)
    expect(texts(await readSse(await d.fetch(`/command/${id}/events`)))).toEqual([...cut('x'), ...pair])
    const logs = await (await d.fetch(`/command/${id}/logs`)).text()
    expect(logs).toBe(`${'x'.repeat(200000)}\n${'z'.repeat(65535)}\u{1f600}wwww\n`)
  })

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
      cwd: tmp,
    })
    expect(texts(frames)).toEqual([`bar file-${process.env.HOME}`, tmp, 'end'])
  })

  test('timeout kills the whole group, grandchildren included, and says timeout', async () => {
    const res = await postJson(d, '/command', { command: 'sleep 300 & echo $!; wait', timeout: 500 })
    const frames = await readSse(res)
    const pid = Number(texts(frames)[0])
    expect(last(frames).error.evalue).toBe('-1')
    expect(last(frames).error.traceback[0]).toContain('timeout')
    expect(alive(pid)).toBe(false)
    const status = await (await d.fetch(`/command/status/${frames[0]?.data.text}`)).json()
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
    const { id, stream } = await follow(await postJson(d, '/command', { command: 'sleep 0.5; echo done' }))
    const status = await d.fetch(`/command/status/${id}`)
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ id, running: true })
    expect(texts(await stream)).toEqual(['done'])
  })

  test('a client that stops reading stops the command (its pipe fills), not execd memory', async () => {
    // A raw connection that reads the first output and then no more: the socket buffers fill,
    // the stream stops pulling, the journal stops taking lines, execd stops reading the pipe,
    // and `yes` blocks. A runaway would read on at pipe speed into memory; the bounds hold
    // however long we wait (the wait only gives a runaway time to show).
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))![1]) / 1024
    const rssBefore = rss()
    const body = JSON.stringify({ command: `yes ${'y'.repeat(1023)}` })
    const { hostname: host, port } = new URL(d.url)
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
        `POST /command HTTP/1.1\r\nHost: ${host}\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )
    })
    try {
      await Bun.sleep(3000)
      const logged = (await (await d.fetch(`/command/${id}/logs`)).arrayBuffer()).byteLength
      expect((await (await d.fetch(`/command/status/${id}`)).json()).running).toBe(true)
      // In flight at most: the journal (1 MiB), the socket buffers both ways, the pipe.
      expect(logged).toBeLessThan(32 * 1024 * 1024)
      expect(rss() - rssBefore).toBeLessThan(40)
    } finally {
      await (await d.fetch(`/command?id=${id}`, { method: 'DELETE' })).arrayBuffer()
      sock.destroy()
    }
  })

  test('abandoning a long stream leaves the command running and /ping answering', async () => {
    const res = await postJson(d, '/command', { command: 'echo long-run-start; sleep 2; echo finished' })
    const frames = await readSse(res, f => f.data.type === 'stdout')
    const id = frames[0]?.data.text
    expect((await d.fetch('/ping')).status).toBe(200)
    expect((await (await d.fetch(`/command/status/${id}`)).json()).running).toBe(true)
    const replay = await readSse(await d.fetch(`/command/${id}/events`))
    expect(texts(replay)).toEqual(['long-run-start', 'finished'])
    const logs = await d.fetch(`/command/${id}/logs`)
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
      status = await (await d.fetch(`/command/status/${id}`)).json()
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
    const all = await d.fetch(`/command/${id}/logs?cursor=0`)
    expect(all.headers.get('content-type')).toStartWith('text/plain')
    expect(await all.text()).toBe('smoke-command\nsecond\n')
    expect(all.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('21')
    const tail = await d.fetch(`/command/${id}/logs?cursor=14`)
    expect(await tail.text()).toBe('second\n')
    const past = await d.fetch(`/command/${id}/logs?cursor=999`)
    expect(await past.text()).toBe('')
    expect(past.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('999')
    // Not a decimal integer (as the reference's QueryInt64 reads one): from the start.
    for (const cursor of ['1e308', '0x10', '1.0', '1.5', 'NaN', '', '%2014', '99999999999999999999']) {
      const odd = await d.fetch(`/command/${id}/logs?cursor=${cursor}`)
      expect([cursor, odd.status, await odd.text()]).toEqual([cursor, 200, 'smoke-command\nsecond\n'])
      expect(odd.headers.get('EXECD-COMMANDS-TAIL-CURSOR')).toBe('21')
    }
    expect((await d.fetch(`/command/${id}/logs?cursor=-1`)).status).toBe(400)
  })
})

describe('interrupt: DELETE /command?id=', () => {
  for (const [name, command] of [
    ['a plain program', 'sleep 300'],
    ['a program that ignores SIGTERM', "trap '' TERM; sleep 300"],
  ] as const) {
    test(`stops ${name} within 1 s and reports it`, async () => {
      const { id, stream } = await follow(await postJson(d, '/command', { command }))
      const t0 = Date.now()
      const del = await d.fetch(`/command?id=${id}`, { method: 'DELETE' })
      const ms = Date.now() - t0
      const frames = await stream
      const status = await (await d.fetch(`/command/status/${id}`)).json()
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
    const res = await postJson(d, '/command', { command: "trap 'echo bye; exit 7' TERM; echo ready; sleep 300 & wait" })
    const { id, stream } = await follow(res, f => f.data.text === 'ready')
    await d.fetch(`/command?id=${id}`, { method: 'DELETE' })
    const frames = await stream
    expect(texts(frames)).toEqual(['ready', 'bye'])
    expect(last(frames).error).toMatchObject({ evalue: '7', traceback: ['exit status 7'] })
  })

  test('unknown id → 404 CONTEXT_NOT_FOUND; missing id → 400 MISSING_QUERY', async () => {
    const unknown = await d.fetch('/command?id=nope', { method: 'DELETE' })
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).code).toBe('CONTEXT_NOT_FOUND')
    const missing = await d.fetch('/command', { method: 'DELETE' })
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
      const res = await postJson(d, '/command', body)
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toStartWith('application/json')
      expect((await res.json()).code).toBe(code)
    })
  }

  test('unknown ids for status, logs and events → 404 CONTEXT_NOT_FOUND', async () => {
    for (const path of ['/command/status/nope', '/command/nope/logs', '/command/nope/events']) {
      const res = await d.fetch(path)
      expect(res.status).toBe(404)
      expect((await res.json()).code).toBe('CONTEXT_NOT_FOUND')
    }
  })
})
