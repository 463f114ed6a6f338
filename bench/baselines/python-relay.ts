/**
 * Row 1's architecture floor: what any Bun daemon that runs a cell in a warm python over a
 * socket pays. A minimal `Bun.serve`, compiled with dist/execd's flags, answers GET /ping, and
 * POST /code by writing the code to a warm `/usr/bin/python3` over a socketpair (fd 3, read
 * with `Bun.connect({ fd })` as execd reads its driver) and answering, once python's reply line
 * is in, one SSE body of execd's frames and headers. No token, journal, queue, checks or
 * protocol beyond one line each way: execd's cell over this is what execd adds; this one's
 * cell over its own /ping is the floor of rows 1d/1e.
 */
import { join } from 'node:path'
import { freePort, makeTempDir, spawnTracked, stopProcess } from '../lib/procs'
import { compileLikeExecd } from '../lib/compile'

const PYTHON_LOOP = `
import json, socket
chan = socket.socket(fileno=3)
lines = chan.makefile('rb')
ns = {}
for line in lines:
    code = json.loads(line)['code']
    try:
        try:
            value = eval(compile(code, '<bench>', 'eval'), ns)
        except SyntaxError:
            exec(code, ns)
            value = None
    except Exception as e:
        value = e
    chan.sendall((json.dumps({'type': 'result', 'results': {'text/plain': repr(value)}}) + '\\n').encode())
`

const SOURCE = `
import { writeSync } from 'node:fs'
const [port, python] = [Number(process.argv[2]), process.argv[3]]
const child = Bun.spawn([python, '-u', '-c', ${JSON.stringify(PYTHON_LOOP)}], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] })
const fd = child.stdio[3]
const decoder = new TextDecoder()
let buffer = ''
let waiting
await Bun.connect({
  fd,
  socket: {
    data(_socket, chunk) {
      buffer += decoder.decode(chunk, { stream: true })
      const nl = buffer.indexOf('\\n')
      if (nl < 0) return
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const w = waiting
      waiting = undefined
      w?.(line)
    },
  },
})
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' }
Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    const { code } = await request.json()
    const reply = new Promise(r => (waiting = r))
    writeSync(fd, JSON.stringify({ code }) + '\\n')
    const result = JSON.parse(await reply)
    const t = Date.now()
    const frames = [
      { type: 'init', text: 'context', timestamp: t, execution_id: 'execution' },
      { type: 'ping', text: 'pong', timestamp: t },
      { type: 'execution_count', execution_count: 1, timestamp: t },
      { type: 'result', timestamp: t, results: { ...result.results, text: result.results['text/plain'] } },
      { type: 'execution_complete', timestamp: t },
    ]
    const body = frames.map((f, i) => 'id: ' + (i + 1) + '\\ndata: ' + JSON.stringify(f) + '\\n\\n').join('')
    return new Response(body, { status: 200, headers: { ...HEADERS, 'EXECD-EXECUTION-ID': 'execution' } })
  },
})
`

export interface PythonRelay {
  url: string
  /** The relay's own process (its python is a child of it). */
  pid: number
  stop(): Promise<void>
}

/**
 * Compiles the relay (dist/execd's flags) and starts it; resolves once it answers /ping.
 * `launcher` goes before the executable (a profiler that keeps the pid), given `startWithinMs`.
 */
export async function startPythonRelay(
  python = '/usr/bin/python3',
  launcher: string[] = [],
  startWithinMs = 15_000,
): Promise<PythonRelay> {
  const dir = makeTempDir('pyrelay')
  await Bun.write(join(dir, 'relay.ts'), SOURCE)
  const bin = await compileLikeExecd(join(dir, 'relay.ts'), dir, 'relay')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = spawnTracked([...launcher, bin, String(port), python], { group: true })
  const deadline = performance.now() + startWithinMs
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      r => r.status === 200,
      () => false,
    )
    if (ok) break
    if (proc.exitCode !== null) throw new Error(`python relay exited early (${proc.exitCode})`)
    if (performance.now() > deadline) throw new Error(`python relay did not answer within ${startWithinMs / 1000} s`)
    await Bun.sleep(5)
  }
  return { url, pid: proc.pid, stop: () => stopProcess(proc) }
}
