/**
 * Row 4c's floor (bench/baselines/sse-relay.ts compiles it like dist/execd and starts it as
 * `sse-relay-server <port>`): `POST /command {command}` spawns `bash -c <command>` with its
 * stdout in a real pipe (core/output-pipes.ts, as execd gives a command's) and answers an SSE
 * stream framed as execd frames a command's: `init`, `ping`, one
 * `stdout` event per line (`id: <n>\ndata: {"type":"stdout","text":"<line>","timestamp":<ms>}`),
 * `execution_complete`. Each read's lines are framed into one reused buffer and written once,
 * the write awaited (backpressure). Nothing else: no journal, no log, no check for bytes JSON
 * must escape, no pacing; what one SSE event per line costs any Bun daemon.
 */
import { OutputPipes } from '../../core/output-pipes'

interface DirectController {
  write(chunk: Uint8Array): number | Promise<number>
  close(): void
}

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')
const ID = ascii('id: ')
const HEAD = ascii('\ndata: {"type":"stdout","text":"')
const event = (id: number, body: string): Buffer => ascii(`id: ${id}\ndata: {${body},"timestamp":${Date.now()}}\n\n`)

/** The id's decimal digits at `at`; where they end. */
function writeId(out: Buffer, at: number, id: number): number {
  let digits = 1
  for (let n = id; n >= 10; n = Math.floor(n / 10)) digits++
  for (let n = id, k = at + digits - 1; k >= at; k--, n = Math.floor(n / 10)) out[k] = 48 + (n % 10)
  return at + digits
}

async function relay(stdout: ReadableStream<Uint8Array>, started: number, controller: DirectController): Promise<void> {
  await controller.write(
    Buffer.concat([event(1, '"type":"init","text":"floor"'), event(2, '"type":"ping","text":"pong"')]),
  )
  const reader = stdout.getReader()
  let out = Buffer.allocUnsafe(256 * 1024)
  let rest = Buffer.alloc(0)
  let id = 3
  for (;;) {
    const r = await reader.read()
    if (r.done) break
    const read = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    const chunk = rest.length > 0 ? Buffer.concat([rest, read]) : read
    const tail = ascii(`","timestamp":${Date.now()}}\n\n`)
    // a frame is at most 32 bytes of id and head and the tail beyond its line
    if (out.length < chunk.length * 2 + 4096) out = Buffer.allocUnsafe(chunk.length * 2 + 4096)
    let w = 0
    let start = 0
    for (let lf = chunk.indexOf(10); lf !== -1; start = lf + 1, lf = chunk.indexOf(10, start)) {
      out.set(ID, w)
      w += ID.length
      w = writeId(out, w, id++)
      out.set(HEAD, w)
      w += HEAD.length
      w += chunk.copy(out, w, start, lf)
      out.set(tail, w)
      w += tail.length
    }
    rest = Buffer.from(chunk.subarray(start))
    if (w > 0) await controller.write(out.subarray(0, w))
  }
  const time = Math.round(performance.now() - started)
  await controller.write(event(id, `"type":"execution_complete","execution_time":${time}`))
  controller.close()
}

Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  idleTimeout: 0,
  async fetch(req) {
    if (req.method !== 'POST') return new Response('pong')
    const { command } = (await req.json()) as { command: string }
    const started = performance.now()
    const pipes = OutputPipes.make()
    if (!pipes) return new Response('no pipe2 here', { status: 500 })
    try {
      Bun.spawn(['bash', '-c', command], { stdio: ['ignore', pipes.stdout, 'ignore'] })
    } finally {
      pipes.spawned()
    }
    const pull = (c: DirectController) => relay(pipes.stream('stdout'), started, c).finally(() => pipes.close())
    const source = { type: 'direct', pull }
    return new Response(new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>), {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    })
  },
})
