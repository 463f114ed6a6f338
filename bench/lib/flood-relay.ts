/**
 * The floor of row 4a for any Bun daemon, run as its own process (`bun bench/lib/flood-relay.ts`,
 * prints its port): `POST /<mode>` with `{command}` spawns `bash -c <command>` with its stdout
 * piped, as execd does, and carries what it prints to the response — no journal, no lines, no
 * frames, no log. Modes:
 * - `native`: the child's stdout stream is the response body (Bun moves the bytes itself);
 * - `direct`: a JavaScript loop reads the stream and writes each chunk to a direct stream's
 *   controller, awaiting each write (backpressure), as execd's pump and SSE writer do.
 * - `canned`: no child: `{bytes}` of execd's own frames for 1 KiB lines, written from memory 64 KiB
 *   at a time — the client's floor (what reading the stream costs it, with nothing behind it).
 * Reached by the same client as execd, so what execd costs beyond `direct` is its own work per
 * byte and per line, and `direct` beyond `native` is the JavaScript between a read and a write.
 */
export {}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(req) {
    const mode = new URL(req.url).pathname.slice(1)
    const { command, bytes } = (await req.json()) as { command: string; bytes: number }
    if (mode === 'canned') return canned(bytes)
    const p = Bun.spawn(['bash', '-c', command], { stdio: ['ignore', 'pipe', 'ignore'] })
    const headers = { 'content-type': 'text/event-stream' }
    const stdout = p.stdout as ReadableStream<Uint8Array>
    if (mode === 'native') return new Response(stdout, { headers })
    const reader = stdout.getReader()
    const direct = {
      type: 'direct',
      async pull(controller: { write(c: Uint8Array): number | Promise<number>; close(): void }) {
        for (;;) {
          const r = await reader.read()
          if (r.done) break
          await controller.write(r.value)
        }
        controller.close()
      },
    }
    return new Response(new ReadableStream(direct as unknown as UnderlyingDefaultSource<Uint8Array>), { headers })
  },
})
/** 1 KiB lines' frames as execd sends them, one 64 KiB batch repeated. */
const line = '0'.repeat(1023)
let frames = ''
for (let id = 3; frames.length < 64 * 1024; id++)
  frames += `id: ${id}\ndata: {"type":"stdout","text":"${line}","timestamp":1796161836574}\n\n`
const batch = Buffer.from(frames)

function canned(bytes: number): Response {
  const direct = {
    type: 'direct',
    async pull(controller: { write(c: Uint8Array): number | Promise<number>; close(): void }) {
      for (let sent = 0; sent < bytes; sent += batch.length) await controller.write(batch)
      await controller.write(Buffer.from('id: 9\ndata: {"type":"execution_complete","execution_time":1}\n\n'))
      controller.close()
    },
  }
  return new Response(new ReadableStream(direct as unknown as UnderlyingDefaultSource<Uint8Array>), {
    headers: { 'content-type': 'text/event-stream' },
  })
}

process.stdout.write(`${server.port}\n`)
