/**
 * The CLI's --url verbs as the client of a server that does not keep the contract: a stream cut
 * before its terminal event, an execution id that is not one, JSON answers of another shape, an
 * event or an answer that never ends.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './harness'
import { unendingServer } from './kit/unending-server'

const frames = (...events: object[]) => events.map(e => `data: ${JSON.stringify(e)}\n\n`).join('')

let server: ReturnType<typeof Bun.serve> | undefined
afterEach(() => {
  server?.stop(true)
  server = undefined
})

/** A daemon whose /code and /command answer `stream`, with `executionId` as the cell's id. */
function serving(stream: string, executionId = 'e1'): string {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const path = new URL(req.url).pathname
      if (path === '/code/context') return Response.json({ id: 'ctx', language: 'python' })
      if (path === '/v1/isolated/session') return Response.json({ session_id: 's1' }, { status: 201 })
      if (req.method === 'DELETE') return new Response(null, { headers: { 'content-length': '0' } })
      return new Response(stream, {
        headers: { 'content-type': 'text/event-stream', 'EXECD-EXECUTION-ID': executionId },
      })
    },
  })
  return `http://127.0.0.1:${server.port}`
}

describe('a stream that ends before its terminal event', () => {
  const cut = frames({ type: 'init', text: 'ctx' }, { type: 'stdout', text: 'partial' })

  test('exec <language>: exit 1 with one line that says so, the output shown', async () => {
    const run = await runCli(['exec', 'python', '--url', serving(cut), 'print(1)'])
    expect(run.stdout).toBe('partial')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('ended before')
    expect(run.code).toBe(1)
  })

  test('exec --shell: exit 1 with one line that says so', async () => {
    const run = await runCli(['exec', '--shell', 'echo partial', '--url', serving(cut)])
    expect(run.stdout).toBe('partial\n')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('ended before')
    expect(run.code).toBe(1)
  })

  test('exec --shell --isolated: the same', async () => {
    const run = await runCli(['exec', '--shell', 'echo partial', '--isolated', '/tmp', '--url', serving(cut)])
    expect(run.stdout).toBe('partial\n')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('ended before')
    expect(run.code).toBe(1)
  })

  test('a whole stream still exits 0 without a word', async () => {
    const whole = cut + frames({ type: 'execution_complete' })
    const code = await runCli(['exec', 'python', '--url', serving(whole), 'print(1)'])
    expect([code.code, code.stderr]).toEqual([0, ''])
    server?.stop(true)
    const shell = await runCli(['exec', '--shell', 'echo partial', '--url', serving(whole)])
    expect([shell.code, shell.stderr]).toEqual([0, ''])
  })
})

describe('an execution id that is not one', () => {
  const image = frames(
    { type: 'result', results: { 'image/png': Buffer.from('png').toString('base64') } },
    { type: 'execution_complete' },
  )
  let dir = ''
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  for (const id of ['/../../x', 'x/y', '']) {
    test(`${JSON.stringify(id)}: the image is written in the working directory, its name plain`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'cli-hostile-'))
      const cwd = join(dir, 'cwd')
      mkdirSync(cwd)
      const run = await runCli(['exec', 'python', '--url', serving(image, id), 'plot()'], { cwd })
      expect(run.code).toBe(0)
      // Nothing beside the working directory, and one plain file name in it.
      expect(readdirSync(dir)).toEqual(['cwd'])
      const written = readdirSync(cwd)
      expect(written).toHaveLength(1)
      expect(written[0]).toMatch(/^execd-[\w-]+\.png$/)
    })
  }
})

describe('a JSON answer of another shape', () => {
  /** A server answering every request with `body` as JSON. */
  const answering = (body: string): string => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }),
    })
    return `http://127.0.0.1:${server.port}`
  }
  const verbs: [string, string[], string][] = [
    ['metrics', ['metrics'], '{}'],
    ['metrics', ['metrics'], 'null'],
    ['fs stat', ['fs', 'stat', '/x'], 'null'],
    ['fs stat', ['fs', 'stat', '/x'], '{"/x":{"path":5,"size":"big"}}'],
    ['fs ls', ['fs', 'ls', '/'], 'null'],
    ['fs ls', ['fs', 'ls', '/'], '[{"path":null}]'],
    ['fs search', ['fs', 'search', '/', '*'], '[1,2]'],
    ['exec --list', ['exec', '--list'], '{"x":1}'],
    ['metrics', ['metrics'], 'not json'],
  ]
  for (const [name, args, body] of verbs) {
    test(`${name} given ${body}: exit 1, one line naming the answer, none of the CLI's own code`, async () => {
      const run = await runCli([...args, '--url', answering(body)])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain("the server's answer to GET /")
    })
  }
})

describe('events of another shape', () => {
  // Each frame before a terminal event: the verb must fail on it, naming the answer.
  const shapes = [
    'null',
    '5',
    '{}',
    '{not json',
    '{"type":"stdout","text":5}',
    '{"type":"result","results":"abc"}',
    '{"type":"error","error":null}',
    '{"type":"error","error":{"ename":5,"traceback":"x"}}',
  ]
  const raw = (frame: string) => `data: ${frame}\n\n${frames({ type: 'execution_complete' })}`
  for (const frame of shapes) {
    for (const [verb, args] of [
      ['exec python', ['exec', 'python', 'print(1)']],
      ['exec --shell', ['exec', '--shell', 'echo 1']],
    ] as const) {
      test(`${verb} given ${frame}: exit 1, one line naming the answer, none of the CLI's own code`, async () => {
        const run = await runCli([...args, '--url', serving(raw(frame))])
        expect(run.code).toBe(1)
        expect(run.stderr.trim().split('\n')).toHaveLength(1)
        expect(run.stderr).toContain("the server's answer to POST /")
      })
    }
  }

  for (const frame of ['null', '5', '{not json']) {
    test(`metrics --watch given ${frame}: exit 1, one line naming the answer`, async () => {
      server = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        fetch: () => new Response(`data: ${frame}\n\n`, { headers: { 'content-type': 'text/event-stream' } }),
      })
      const run = await runCli(['metrics', '--watch', '--url', `http://127.0.0.1:${server.port}`])
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain("the server's answer to GET /metrics/watch")
    })
  }
})

describe('an error body of another shape', () => {
  for (const [status, body] of [
    [500, 'null'],
    [401, 'null'],
    [400, '{"code":5,"message":{"a":1}}'],
  ] as const) {
    test(`${status} ${body}: one line quoting the answer or the status, none of the CLI's own code`, async () => {
      server = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        fetch: () => new Response(body, { status, headers: { 'content-type': 'application/json' } }),
      })
      const run = await runCli(['fs', 'stat', '/x', '--url', `http://127.0.0.1:${server.port}`])
      expect(run.code).not.toBe(0)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).not.toContain('evaluating')
      expect(run.stderr).not.toContain('[object Object]')
    })
  }
})

describe('the CLI as the client of a server that sends an event without its end', () => {
  // `execd exec --url` kept every byte of an SSE frame until its blank line, searching the
  // whole held text again for each chunk: behind a server that never ends the frame, memory
  // grew without bound and the search took the event loop, so Ctrl-C, meant to end the verb
  // 2 s after it asked the daemon to stop, took 11 s after 12 s of such a stream, and longer
  // the longer it ran.
  test('the verb ends by itself with one line of error once the frame passes its cap', async () => {
    const piece = new TextEncoder().encode('a'.repeat(1 << 20))
    let sent = 0
    const server = unendingServer({
      opening: 'data: {"type":"stdout","text":"',
      pull(c) {
        sent += piece.length
        c.enqueue(piece)
      },
      type: 'text/event-stream',
    })
    try {
      const run = await runCli(['exec', '--url', `http://127.0.0.1:${server.port}`, '--shell', 'echo hi'])
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain('an event larger than')
      // What the verb read before it gave up is about its cap, not what the server had.
      expect(sent).toBeLessThan(512 * 1024 * 1024)
    } finally {
      server.stop(true)
    }
  }, 60_000)
})

describe('the CLI as the client of a server whose answer never ends', () => {
  // `execd fs --url` read a JSON answer (and an error's body) whole before looking at it:
  // an answer that never ends took memory without bound (RSS 143 -> 248 MiB in 8 s and rising).
  const piece = new TextEncoder().encode('a'.repeat(1 << 20))
  /** `execd fs --url <a server that answers so> ...args`, the server stopped after. */
  const fsBehind = async (status: number, type: string, args: string[], opening = '{"entries":["') => {
    const server = unendingServer({
      opening: type === 'text/html' ? '<html><body>' : opening,
      pull: c => c.enqueue(piece),
      type,
      status,
    })
    try {
      return await runCli(['fs', '--url', `http://127.0.0.1:${server.port}`, ...args])
    } finally {
      server.stop(true)
    }
  }

  test('a 200 JSON answer: the verb gives up past its cap, in one line', async () => {
    const run = await fsBehind(200, 'application/json', ['stat', '/'])
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain("the server's answer is larger than")
  }, 60_000)

  // A listing is read an element at a time as it comes (cmd/json-items.ts): an answer that is
  // no array is refused at its first byte, an element that never ends past its own cap.
  for (const [opening, said] of [
    ['{"entries":["', 'not an array'],
    ['["', 'an element longer than 1048576 characters'],
  ])
    test(`a 200 JSON listing opening ${opening}: the verb gives up (${said}), in one line`, async () => {
      const run = await fsBehind(200, 'application/json', ['ls', '/'], opening)
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain(`the server's answer to GET /directories/list is not the contract's: ${said}`)
    }, 60_000)

  test('an answer that should be empty: the verb does not wait for its end', async () => {
    // mkdir: its answer is only a status (rm asks the path's stat first, a JSON answer).
    const run = await fsBehind(200, 'application/json', ['mkdir', '/nothing'])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
  }, 60_000)

  test("a 500 with an HTML page: said to be a web page, not execd's, the rest not read", async () => {
    const run = await fsBehind(500, 'text/html', ['ls', '/'])
    expect(run.code).not.toBe(0)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    // Round ten: a web page is named as one (by its title where it has one), not quoted as markup.
    expect(run.stderr).toContain('HTTP 500: a web page (not an execd answer')
  }, 60_000)
})

describe("a gateway's page in place of the daemon's answer", () => {
  const page = (status: number, title: string) =>
    `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
  for (const [status, title] of [
    [502, 'Bad Gateway'],
    [503, 'Service Temporarily Unavailable'],
    [504, 'Gateway Time-out'],
  ] as const) {
    test(`${status}, the daemon behind it down: one line asking whether it runs, not whether --url is right`, async () => {
      // On main's build: `(not an execd answer: is --url the daemon's address and path?)`, a
      // person sent to check an address that was right.
      server = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        fetch: () => new Response(page(status, title), { status, headers: { 'content-type': 'text/html' } }),
      })
      const url = `http://127.0.0.1:${server.port}/sandbox/abc`
      for (const verb of [
        ['fs', 'stat', '/x'],
        ['exec', '--shell', 'true'],
        ['exec', 'python', 'print(1)'],
        ['metrics'],
      ]) {
        const run = await runCli([...verb, '--url', url])
        expect([run.code, run.stderr]).toEqual([
          1,
          `execd: HTTP ${status}: a web page, "${status} ${title}" (a gateway's, not execd's: is the daemon behind it running?)\n`,
        ])
      }
      const ping = await runCli(['ping', '--url', url])
      expect([ping.code, ping.stderr]).toEqual([
        1,
        `execd ping: ${url}/ping answered ${status} with a web page, a gateway's, not execd's: is the daemon behind it running?\n`,
      ])
    })
  }

  test('404: the address is what is asked about', async () => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response(page(404, 'Not Found'), { status: 404, headers: { 'content-type': 'text/html' } }),
    })
    const run = await runCli(['fs', 'stat', '/x', '--url', `http://127.0.0.1:${server.port}/typo`])
    expect([run.code, run.stderr]).toEqual([
      1,
      `execd: HTTP 404: a web page, "404 Not Found" (not an execd answer: is --url the daemon's address and path?)\n`,
    ])
  })
})
