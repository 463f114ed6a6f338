/**
 * Rows 1f/1g's architecture floor, python-relay.ts for javascript: what any Bun daemon that runs
 * a cell in a warm Bun over Bun's IPC pays. A minimal `Bun.serve`, compiled with dist/execd's
 * flags, answers GET /ping, and POST /code by sending the code to a warm Bun child (the relay's
 * own executable run again as Bun, `BUN_BE_BUN=1`, as execd starts its javascript interpreter)
 * over `Bun.spawn`'s IPC with JSON serialization (execd's), which evaluates it globally and sends
 * back `Bun.inspect` of the value; then one SSE body of execd's frames and headers. No token,
 * journal, queue, transpile, checks or output capture: execd's javascript cell over this is what
 * execd and its driver add; this one's cell over its own /ping is the floor of rows 1f/1g.
 */
import { join } from 'node:path'
import { compileLikeExecd } from '../lib/compile'
import { freePort, makeTempDir, spawnTracked, stopProcess } from '../lib/procs'

const CHILD = `
process.on('message', m => {
  let value
  try {
    value = (0, eval)(m.code)
  } catch (e) {
    value = e
  }
  process.send({ t: 'done', bundle: { 'text/plain': Bun.inspect(value) } })
})
process.send({ t: 'ready' })
`

const SOURCE = `
const [port, childFile] = [Number(process.argv[2]), process.argv[3]]
let waiting
let ready
const started = new Promise(r => (ready = r))
const proc = Bun.spawn(['/proc/self/exe', childFile], {
  env: { ...process.env, BUN_BE_BUN: '1' },
  stdio: ['ignore', 'inherit', 'inherit'],
  serialization: 'json',
  ipc(m) {
    if (m.t === 'ready') return ready()
    const w = waiting
    waiting = undefined
    w?.(m)
  },
})
await started
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' }
Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    const { code } = await request.json()
    const reply = new Promise(r => (waiting = r))
    proc.send({ t: 'run', code })
    const { bundle } = await reply
    const t = Date.now()
    const frames = [
      { type: 'init', text: 'context', timestamp: t, execution_id: 'execution' },
      { type: 'ping', text: 'pong', timestamp: t },
      { type: 'execution_count', execution_count: 1, timestamp: t },
      { type: 'result', timestamp: t, results: { ...bundle, text: bundle['text/plain'] } },
      { type: 'execution_complete', timestamp: t },
    ]
    const body = frames.map((f, i) => 'id: ' + (i + 1) + '\\ndata: ' + JSON.stringify(f) + '\\n\\n').join('')
    return new Response(body, { status: 200, headers: { ...HEADERS, 'EXECD-EXECUTION-ID': 'execution' } })
  },
})
`

export interface JsRelay {
  url: string
  pid: number
  stop(): Promise<void>
}

/** Compiles the relay (dist/execd's flags) and starts it; resolves once it answers /ping. */
export async function startJsRelay(startWithinMs = 15_000): Promise<JsRelay> {
  const dir = makeTempDir('jsrelay')
  await Bun.write(join(dir, 'relay.ts'), SOURCE)
  await Bun.write(join(dir, 'child.js'), CHILD)
  const bin = await compileLikeExecd(join(dir, 'relay.ts'), dir, 'relay')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = spawnTracked([bin, String(port), join(dir, 'child.js')], { group: true })
  const deadline = performance.now() + startWithinMs
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      r => r.status === 200,
      () => false,
    )
    if (ok) break
    if (proc.exitCode !== null) throw new Error(`javascript relay exited early (${proc.exitCode})`)
    if (performance.now() > deadline)
      throw new Error(`javascript relay did not answer within ${startWithinMs / 1000} s`)
    await Bun.sleep(5)
  }
  return { url, pid: proc.pid, stop: () => stopProcess(proc) }
}
