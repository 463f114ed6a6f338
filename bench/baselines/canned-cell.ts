/**
 * The HTTP floor of a warm cell's round trip: a bare `Bun.serve`, compiled with dist/execd's
 * flags, whose `POST /code` reads the JSON body and answers at once with the body of a warm cell
 * (execd's five frames and headers), and whose `GET /ping` answers 200 — no interpreter, no
 * relay, nothing but the request and the reply. Its cell over its own /ping is what a client
 * and the HTTP exchange alone make of rows 1d/1f's ratio.
 */
import { join } from 'node:path'
import { freePort, makeTempDir, spawnTracked, stopProcess } from '../lib/procs'
import { compileLikeExecd } from '../lib/compile'

const SOURCE = `
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' }
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  async fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    await request.json()
    const t = Date.now()
    const frames = [
      { type: 'init', text: 'context', timestamp: t, execution_id: 'execution' },
      { type: 'ping', text: 'pong', timestamp: t },
      { type: 'execution_count', execution_count: 1, timestamp: t },
      { type: 'result', timestamp: t, results: { 'text/plain': '2', text: '2' } },
      { type: 'execution_complete', timestamp: t },
    ]
    const body = frames.map((f, i) => 'id: ' + (i + 1) + '\\ndata: ' + JSON.stringify(f) + '\\n\\n').join('')
    return new Response(body, { status: 200, headers: { ...HEADERS, 'EXECD-EXECUTION-ID': 'execution' } })
  },
})
`

/** Compiles and starts the server; resolves once it answers /ping. */
export async function startCannedCell(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = makeTempDir('cellfloor')
  await Bun.write(join(dir, 'canned.ts'), SOURCE)
  const bin = await compileLikeExecd(join(dir, 'canned.ts'), dir, 'canned')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = spawnTracked([bin, String(port)], { group: true })
  for (let i = 0; i < 3000; i++) {
    if (
      await fetch(`${url}/ping`).then(
        r => r.status === 200,
        () => false,
      )
    )
      return { url, stop: () => stopProcess(proc) }
    await Bun.sleep(5)
  }
  throw new Error('the canned server did not answer')
}
