/** Contract tests for bash sessions (CONTRACT §4): one live bash per session. */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { follow } from './command-stream'
import { postJson, readSse, type SseFrame, rssMiB } from './harness'
import { pidsUnder } from './kit/own-pids'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('session')
/** This daemon's processes: the same file run elsewhere at once has jobs of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

const create = async (body: unknown = {}) => {
  const res = await postJson(fx.d, '/session', body)
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
const run = async (sid: string, body: Record<string, unknown>) => {
  const res = await postJson(fx.d, `/session/${sid}/run`, body)
  expect(res.status).toBe(200)
  return readSse(res)
}
const out = (frames: SseFrame[], type = 'stdout') => frames.filter(f => f.data.type === type).map(f => f.data.text)
const last = (frames: SseFrame[]) => frames[frames.length - 1]?.data

describe('session state persists between runs', () => {
  test('a function defined in one run is callable in the next', async () => {
    const sid = await create()
    await run(sid, { command: 'greet() { echo "hi $1"; }' })
    expect(out(await run(sid, { command: 'greet there' }))).toEqual(['hi there'])
  })

  test('cd persists, and the session starts in its cwd', async () => {
    const sid = await create({ cwd: fx.tmp })
    expect(out(await run(sid, { command: 'pwd; cd /' }))).toEqual([fx.tmp])
    expect(out(await run(sid, { command: 'pwd' }))).toEqual(['/'])
  })

  test('unexported variables, declared arrays and aliases persist', async () => {
    const sid = await create()
    await run(sid, { command: "plain=1; declare -a arr=(x y); alias ll='echo aliased'" })
    expect(out(await run(sid, { command: 'echo $plain ${arr[1]}; ll; env | grep -c ^plain=' }))).toEqual([
      '1 y',
      'aliased',
      '0',
    ])
  })
})

describe('a run', () => {
  test('streams stdout and stderr as separate events and reports the exit code', async () => {
    const sid = await create()
    const frames = await run(sid, { command: 'echo out; echo err >&2; exit_with() { return $1; }; exit_with 7' })
    expect(frames[0]?.data).toMatchObject({ type: 'init', text: sid })
    expect(out(frames)).toEqual(['out'])
    expect(out(frames, 'stderr')).toEqual(['err'])
    expect(last(frames).error).toEqual({ ename: 'CommandExecError', evalue: '7', traceback: ['exit status 7'] })
  })

  test('ends reliably: no trailing newline, heredocs, background jobs left running', async () => {
    const sid = await create()
    expect(out(await run(sid, { command: 'printf no-newline' }))).toEqual(['no-newline'])
    const heredoc = await run(sid, { command: "cat <<'EOF'\n$literal\nEOF\ncat <<EOF\n$((1+1))\nEOF" })
    expect(out(heredoc)).toEqual(['$literal', '2'])
    const bg = await run(sid, { command: 'sleep 300 & echo started' })
    expect(out(bg)).toEqual(['started'])
    expect(last(bg).type).toBe('execution_complete')
    expect(out(await run(sid, { command: 'kill %1 && echo killed' }))).toEqual(['killed'])
  })

  test('runs of one session are serialized', async () => {
    const sid = await create()
    const first = run(sid, { command: 'sleep 0.3; x=first' })
    await Bun.sleep(50)
    const second = run(sid, { command: 'echo $x' })
    await first
    expect(out(await second)).toEqual(['first'])
  })

  test('exit ends the session with a clear error on the next run', async () => {
    const sid = await create()
    const frames = await run(sid, { command: 'echo bye; exit 3' })
    expect(out(frames)).toEqual(['bye'])
    expect(last(frames).error.evalue).toBe('3')
    const next = await postJson(fx.d, `/session/${sid}/run`, { command: 'echo hi' })
    expect(next.status).toBe(404)
    expect((await next.json()).message).toContain('has ended')
  })

  test('interrupt stops the run and keeps the session and its state', async () => {
    const sid = await create()
    await run(sid, { command: 'kept=yes' })
    const { stream } = await follow(
      await postJson(fx.d, `/session/${sid}/run`, { command: 'echo start; sleep 300; echo never' }),
    )
    await Bun.sleep(200)
    const t0 = Date.now()
    const del = await fx.d.fetch(`/command?id=${sid}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(Date.now() - t0).toBeLessThan(1000)
    const frames = await stream
    expect(out(frames)).toEqual(['start'])
    expect(last(frames).error.evalue).toBe('-1')
    expect(out(await run(sid, { command: 'echo $kept' }))).toEqual(['yes'])
  })

  test('a client that goes away interrupts its run; the session serves the next one', async () => {
    const sid = await create()
    const res = await postJson(fx.d, `/session/${sid}/run`, { command: 'sleep 300; echo never' })
    await readSse(res, f => f.data.type === 'ping') // then the connection is dropped
    const next = await run(sid, { command: 'echo next' })
    expect(out(next)).toEqual(['next'])
  })

  test('timeout stops the run, says timeout, and the session survives', async () => {
    const sid = await create()
    const frames = await run(sid, { command: 'sleep 300', timeout: 300 })
    expect(last(frames).error.traceback[0]).toContain('timeout')
    expect(out(await run(sid, { command: 'echo alive' }))).toEqual(['alive'])
  })
})

describe('output', () => {
  /**
   * Output that exercises the line splitting: a character split across two reads of the pipe
   * (the sleep only makes separate reads likely; the frames are the same either way), invalid
   * UTF-8, CR and CRLF, characters JSON escapes, empty lines, a 200,000-byte line written with
   * its newline in one write, and last lines without a newline longer than the 64 Ki cut, ASCII
   * on stdout and not on stderr. A long line's pieces are the same whatever the reads.
   */
  const MIXED = [
    "printf 'caf\\xc3'; sleep 0.1; printf '\\xa9 ok\\n'",
    "printf 'bad \\xff\\xfe utf8\\n\\n'",
    "printf 'a\\rb\\r\\nc\\r'; printf '\\nd\\n'",
    `printf 'q"uote \\\\ tab\\t\\x01\\n'`,
    "printf 'to stderr\\n' >&2",
    "printf '\\xc3\\xa9%.0s' $(seq 70000) >&2",
    `python3 -c 'import sys; sys.stdout.write("x" * 200000 + "\\n")'`,
    "head -c 200000 /dev/zero | tr '\\0' y",
  ].join('; ')

  /**
   * The raw SSE body with what differs between two runs (ids of the run, times) made equal, and
   * the keep-alive pings left out (the frames without an id; the ping after `init` has one): one
   * comes every 3 s a stream is quiet, so a run slowed past 3 s has one its twin may not have
   * (at load 11 a run of this output took 7 s; in a cgroup of 8 % of a CPU, /command's had one
   * and the session's none).
   */
  const raw = async (res: Response) =>
    (await res.text())
      .replace(/"timestamp":\d+/g, '"timestamp":0')
      .replace(/"execution_time":\d+/g, '"execution_time":0')
      .replace(/"type":"init","text":"[^"]*"/, '"type":"init","text":""')
      .split('\n\n')
      .filter(f => f !== 'data: {"type":"ping","text":"pong","timestamp":0}')
      .join('\n\n')

  test('a run sends the same frames, byte for byte, as /command does for the same output', async () => {
    const sid = await create()
    const session = await raw(await postJson(fx.d, `/session/${sid}/run`, { command: MIXED }))
    const command = await raw(await postJson(fx.d, '/command', { command: MIXED }))
    expect(session).toBe(command)
    // and what they say: the pieces of a long line, the decoded text, the unterminated tail
    const frames = session
      .split('\n\n')
      .filter(f => f.includes('data: '))
      .map(f => JSON.parse(f.slice(f.indexOf('data: ') + 6)))
    const stdout = frames.filter(f => f.type === 'stdout').map(f => f.text as string)
    expect(stdout.slice(0, 3)).toEqual(['café ok', 'bad \ufffd\ufffd utf8', '\n'])
    expect(stdout.slice(3, 7)).toEqual(['a', 'b', 'c', 'd'])
    expect(stdout[7]).toBe('q"uote \\ tab\t\x01')
    const pieces = [65536, 65536, 65536, 200000 - 3 * 65536]
    expect(stdout.slice(8).map(t => t.length)).toEqual([...pieces, ...pieces])
    expect(stdout.slice(8).map(t => t[0])).toEqual(['x', 'x', 'x', 'x', 'y', 'y', 'y', 'y'])
    const stderr = frames.filter(f => f.type === 'stderr').map(f => f.text as string)
    expect(stderr).toEqual(['to stderr', 'é'.repeat(65536), 'é'.repeat(70000 - 65536)])
    expect(frames.at(-1).type).toBe('execution_complete')
  })

  test('a client that stops reading stops the run (its pipe fills), not execd memory', async () => {
    // A raw connection that reads the first output and then no more: the socket buffers fill,
    // the stream stops pulling, the run stops reading bash's pipe, and `yes` blocks. A runaway
    // would read on at pipe speed into memory; the bounds hold however long we wait (the wait
    // only gives a runaway time to show).
    const rss = () => rssMiB(fx.d.proc.pid)
    const sid = await create()
    const rssBefore = rss()
    const body = JSON.stringify({ command: `exec -a session-stalled-yes yes ${'y'.repeat(1023)}` })
    const { hostname: host, port } = new URL(fx.d.url)
    const sock = connect({ host, port: Number(port) })
    try {
      await new Promise<void>((resolve, reject) => {
        let head = ''
        sock.on('error', reject)
        sock.on('data', chunk => {
          head += chunk.toString('latin1')
          if (head.includes('"type":"stdout"')) {
            sock.pause()
            resolve()
          }
        })
        sock.write(
          `POST /session/${sid}/run HTTP/1.1\r\nHost: ${host}\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        )
      })
      const [pid] = pidsWith('session-stalled-yes')
      expect(pid).toBeDefined()
      await Bun.sleep(3000)
      // What `yes` wrote: in flight at most the pipe, a chunk in execd and the socket buffers.
      const written = Number(/wchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1])
      expect(written).toBeLessThan(32 * 1024 * 1024)
      expect(rss() - rssBefore).toBeLessThan(16)
      expect(pidsWith('session-stalled-yes')).toEqual([pid!])
    } finally {
      await (await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).arrayBuffer()
      sock.destroy()
    }
  })
})

describe('errors', () => {
  test('unknown session → 404; bad run input → 400; DELETE → 200 then 404', async () => {
    const unknown = await postJson(fx.d, '/session/nope/run', { command: 'true' })
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).code).toBe('CONTEXT_NOT_FOUND')
    const sid = await create()
    for (const body of [{}, { command: '' }, { command: 'true', cwd: '/no/such' }, { command: 'true', timeout: -5 }]) {
      const res = await postJson(fx.d, `/session/${sid}/run`, body)
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('INVALID_REQUEST_BODY')
    }
    const del = await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.headers.get('content-length')).toBe('0')
    expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(404)
  })

  test("a run's errors name bash and the run's line, not execd's code file", async () => {
    const sid = await create()
    const frames = await run(sid, { command: 'echo one\nfoo_missing' })
    expect(out(frames, 'stderr')).toEqual(['bash: line 2: foo_missing: command not found'])
    expect(last(frames)).toMatchObject({ type: 'error', error: { evalue: '127' } })
  })

  test('POST /session with no body creates a session', async () => {
    const res = await fx.d.fetch('/session', { method: 'POST' })
    expect(res.status).toBe(200)
    expect((await res.json()).session_id).toMatch(/^[0-9a-f-]{36}$/)
  })
})
