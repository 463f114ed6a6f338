/**
 * Row 1's architecture floor: what any Bun daemon that runs a cell in a warm python over a
 * socket pays. A minimal `Bun.serve`, compiled with dist/execd's flags, answers GET /ping, and
 * POST /code by writing the code to a warm `/usr/bin/python3` over a socketpair (fd 3, read
 * with `Bun.connect({ fd })` as execd reads its driver) and answering, once python's reply line
 * is in, one SSE body of execd's frames and headers. No token, journal, queue, checks or
 * protocol beyond one line each way: execd's cell over this is what execd adds; this one's
 * cell over its own /ping is the floor of rows 1d/1e.
 */
import { startCompiled, type CompiledServer } from '../lib/compile'
import { relayServerSource } from './cell-answer'

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
${relayServerSource(`writeSync(fd, JSON.stringify({ code }) + '\\n')`, 'const result = JSON.parse(await reply)', 'result.results')}`

/**
 * Compiles the relay (dist/execd's flags) and starts it; resolves once it answers /ping.
 * `launcher` goes before the executable (a profiler that keeps the pid), given `startWithinMs`.
 */
export function startPythonRelay(
  python = '/usr/bin/python3',
  launcher: string[] = [],
  startWithinMs = 15_000,
): Promise<CompiledServer> {
  return startCompiled('python relay', { 'relay.ts': SOURCE }, () => [python], { launcher, startWithinMs })
}
