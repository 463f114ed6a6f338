/**
 * Row 5f's floor: a minimal `Bun.serve` that writes a request's raw body to a file as execd
 * must keep an upload (temp file beside the target, fsync, rename), compiled with dist/execd's
 * flags. Nothing of the body is parsed: what execd adds above it is its multipart parse, the
 * checks and the all-or-none placement; below it are Bun's HTTP body stream and the kernel's
 * copies (socket → process → page cache) and the disk, which no daemon in Bun avoids. Each
 * chunk is written as it comes (64 KiB as Bun hands a fast body on) and freed at once, as
 * execd frees its own (core/chunks.ts).
 */
import { type CompiledServer, startCompiled } from '../lib/compile'

const SOURCE = `
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
const port = Number(process.argv[2])
let n = 0
Bun.serve({
  hostname: '127.0.0.1',
  port,
  maxRequestBodySize: 2 ** 40,
  async fetch(req) {
    if (req.method !== 'POST') return new Response('pong')
    const dest = new URL(req.url).searchParams.get('path')
    if (!dest || !req.body) return new Response('path?', { status: 400 })
    const temp = dest + '.floor-' + n++
    const fd = openSync(temp, 'wx', 0o600)
    try {
      for await (const chunk of req.body) {
        writeSync(fd, chunk)
        if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) chunk.buffer.transfer(0)
      }
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, dest)
    return new Response(null, { status: 200 })
  },
})
`

/** Compiles and starts the floor server; POST <url>/files/upload?path=<dest> writes the body there. */
export const startUploadFloor = (): Promise<CompiledServer> => startCompiled('uploadfloor', { 'floor.ts': SOURCE })
