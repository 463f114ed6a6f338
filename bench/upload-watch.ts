/**
 * What watching an upload's client costs execd's event loop (core/client-gone.ts), two builds
 * taking turns: with `idle` keep-alive connections open (each has sent a /ping), rounds of
 * `uploads` small uploads at once, each pausing mid-body past the watch's first look (100 ms).
 * Each round is run twice: every upload on a connection of its own that earlier rounds used
 * (`kept`), then on a new connection (`new`). Reported: CPU of execd's main thread per upload
 * (/proc/<pid>/task/<pid>/schedstat), median of the rounds. Not run by `make bench`.
 *
 *   bun run bench/upload-watch.ts [rounds=5] [idle connections=1000] [uploads a round=20]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build, started beside dist/execd, turns taken
 */
import type { Socket } from 'bun'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { makeTempDir, runThenClean } from './lib/procs'
import { percentile } from './lib/stats'
import { threadCpuMs } from './lib/usage'

const rounds = Number(process.argv[2] ?? 5)
const idle = Number(process.argv[3] ?? 1000)
const uploads = Number(process.argv[4] ?? 20)
const PAUSE_MS = 150

/** A raw keep-alive HTTP/1.1 connection: one request at a time, each answer read whole. */
class Connection {
  private got = ''
  private waiting: (() => void) | undefined

  private constructor(private socket: Socket<undefined>) {}

  static async open(d: Execd): Promise<Connection> {
    const url = new URL(d.url)
    let c: Connection | undefined
    const socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: {
        data(_s, bytes) {
          c!.got += bytes.toString('latin1')
          c!.waiting?.()
        },
      },
    })
    c = new Connection(socket)
    return c
  }

  /** Sends `pieces` with `pauseMs` between them; the answer's status. */
  async request(pieces: string[], pauseMs = 0): Promise<number> {
    for (const [i, p] of pieces.entries()) {
      if (i > 0 && pauseMs) await Bun.sleep(pauseMs)
      this.socket.write(p)
    }
    for (;;) {
      const end = this.got.indexOf('\r\n\r\n')
      if (end >= 0) {
        const length = Number(/content-length: *(\d+)/i.exec(this.got.slice(0, end))?.[1] ?? 0)
        if (this.got.length >= end + 4 + length) {
          const status = Number(this.got.slice(9, 12))
          this.got = this.got.slice(end + 4 + length)
          return status
        }
      }
      await new Promise<void>(resolve => (this.waiting = resolve))
    }
  }

  close(): void {
    this.socket.end()
  }
}

const head = (d: Execd, method: string, path: string, extra = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: ${new URL(d.url).host}\r\nX-EXECD-ACCESS-TOKEN: ${d.headers['X-EXECD-ACCESS-TOKEN']}\r\n${extra}\r\n`

/** An upload of one small file, cut in two around its content. */
function uploadPieces(d: Execd, target: string): string[] {
  const b = 'watchbench'
  const first =
    `--${b}\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n` +
    `${JSON.stringify({ path: target })}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhalf`
  const second = ` and half\r\n--${b}--\r\n`
  const h = head(
    d,
    'POST',
    '/files/upload',
    `Content-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${first.length + second.length}\r\n`,
  )
  return [h + first, second]
}

interface Side {
  name: string
  d: Execd
  idle: Connection[]
  kept: Connection[]
  msPerUpload: { kept: number[]; new: number[] }
}

async function round(s: Side, work: string, kind: 'kept' | 'new', r: number): Promise<void> {
  const dir = join(work, `${s.name}-${kind}-${r}`)
  mkdirSync(dir)
  const conns =
    kind === 'kept' ? s.kept : await Promise.all(Array.from({ length: uploads }, () => Connection.open(s.d)))
  const before = threadCpuMs(s.d.pid).main
  const statuses = await Promise.all(conns.map((c, i) => c.request(uploadPieces(s.d, join(dir, `f${i}`)), PAUSE_MS)))
  const ms = threadCpuMs(s.d.pid).main - before
  if (statuses.some(st => st !== 200)) throw new Error(`${s.name}: upload answered ${statuses.join(', ')}`)
  if (kind === 'new') for (const c of conns) c.close()
  if (r >= 0) s.msPerUpload[kind].push(ms / uploads)
  rmSync(dir, { recursive: true, force: true })
}

async function side(name: string, bin?: string): Promise<Side> {
  const d = await startExecd(bin ? { bin } : {})
  const open = async (n: number) => {
    const conns: Connection[] = []
    for (let i = 0; i < n; i++) {
      const c = await Connection.open(d)
      if ((await c.request([head(d, 'GET', '/ping')])) !== 200) throw new Error(`${name}: /ping failed`)
      conns.push(c)
    }
    return conns
  }
  return { name, d, idle: await open(idle), kept: await open(uploads), msPerUpload: { kept: [], new: [] } }
}

async function main(): Promise<void> {
  const work = makeTempDir('upload-watch')
  const sides: Side[] = [await side('new')]
  const before = process.env.BENCH_EXECD_BEFORE
  if (before) sides.push(await side('before', before))
  try {
    // An untimed round each first: a fresh execd's first uploads pay its JIT.
    for (const s of sides) for (const kind of ['kept', 'new'] as const) await round(s, work, kind, -1)
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...sides].reverse() : sides
      for (const kind of ['kept', 'new'] as const) for (const s of order) await round(s, work, kind, r)
    }
    const med = (xs: number[]) => percentile(xs, 0.5)
    for (const kind of ['kept', 'new'] as const) {
      for (const s of sides) {
        const xs = s.msPerUpload[kind]
        console.log(
          `${s.name}, ${kind} connections, ${idle} idle: ${med(xs).toFixed(2)} ms of the main thread per upload ` +
            `(${xs.map(x => x.toFixed(2)).join(', ')})`,
        )
      }
      if (sides.length === 2) {
        const ratio = med(sides[0]!.msPerUpload[kind]) / med(sides[1]!.msPerUpload[kind])
        console.log(`${kind}: new/before (medians of ${rounds} rounds): ${ratio.toFixed(2)}`)
      }
    }
  } finally {
    for (const s of sides) {
      for (const c of [...s.idle, ...s.kept]) c.close()
      await s.d.stop()
    }
  }
}

await runThenClean(main)
