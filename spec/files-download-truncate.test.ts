/**
 * A download past --download-copy-max is read from the file while it is sent. Sent by
 * sendfile, its pages stayed the file's while they waited in the sockets' queues: a truncation
 * zeroed them, and a client that read only afterwards got the whole Content-Length with zeros
 * where the file had data; on loopback the client's own receive queue held them, past any reset.
 * Now every byte a client gets is one the file held: the answer is whole and the file's as it
 * was, or it ends short of its length with the connection reset.
 *
 * The client is python (it can size its receive buffer before connecting); it reads nothing
 * until told, so the answer waits in the kernel.
 */
import { expect, test } from 'bun:test'
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { connections } from './kit/tcp-queues'

const PYTHON = process.env.EXECD_PYTHON || 'python3'
/** Bytes execd has written on its connection to `clientPort`: those acknowledged and those in its send queue (ss). */
function written(port: number, clientPort: number): number {
  const out = Bun.spawnSync(['ss', '-tinH', 'state', 'established', `( sport = :${port} and dport = :${clientPort} )`])
  const text = out.stdout.toString()
  const sendQueue = Number(text.trim().split(/\s+/)[1] ?? 0)
  return Number(/bytes_acked:(\d+)/.exec(text)?.[1] ?? 0) + sendQueue
}

const ceiling = (file: string) => Number(readFileSync(file, 'latin1').trim().split(/\s+/).at(-1) ?? 0)
/** The client's receive buffer: 32 MiB asked, capped at rmem_max (doubled, half of it overhead). */
const RCVBUF = 2 * ceiling('/proc/sys/net/core/rmem_max')
/** What the kernel can hold of an answer: that and execd's send queue. */
const QUEUES = RCVBUF + ceiling('/proc/sys/net/ipv4/tcp_wmem')
/** The file's bytes: any other byte a client gets is not the file's. */
const FILL = 'x'.charCodeAt(0)

const CLIENT = `
import json, socket, sys, time
port, path, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
s.connect(('127.0.0.1', port))
s.sendall(('GET /files/download?path=%s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-EXECD-ACCESS-TOKEN: %s\\r\\n\\r\\n' % (path, token)).encode())
# The head's length, read without taking it: the kernel holds the whole answer once it holds this and the body.
while b'\\r\\n\\r\\n' not in s.recv(1 << 16, socket.MSG_PEEK):
    time.sleep(0.01)
print(s.getsockname()[1], s.recv(1 << 16, socket.MSG_PEEK).index(b'\\r\\n\\r\\n') + 4, flush=True)
sys.stdin.readline()
data, err = b'', None
try:
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
except OSError as e:
    err = type(e).__name__
head, _, body = data.partition(b'\\r\\n\\r\\n')
length = [l.split(b':')[1].strip() for l in head.split(b'\\r\\n') if l.lower().startswith(b'content-length')]
other = len(body) - body.count(b'x')
print(json.dumps({'length': int(length[0]) if length else None, 'got': len(body), 'zeros': body.count(0), 'other': other, 'error': err}), flush=True)
`

const fx = daemonWithDir('download-truncate', () => ['--download-copy-max', '0'])

/**
 * Downloads a file of `size` bytes with a client that reads nothing until the file is cut to
 * `cut`, once `queued` says so of the bytes in the kernel: the head's length, the bytes unread in
 * the client's receive queue, those in execd's send queue (which counts bytes not yet
 * acknowledged: some of them may be in the client's queue too), and all execd has written.
 */
async function cutWhileQueued(
  size: number,
  cut: number,
  queued: (head: number, rx: number, tx: number, written: number) => boolean,
) {
  const file = join(fx.tmp, 'big')
  writeFileSync(file, Buffer.alloc(size, FILL))
  const port = Number(new URL(fx.d.url).port)
  const client = Bun.spawn([PYTHON, '-c', CLIENT, String(port), file, fx.d.token], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  try {
    const reader = client.stdout.getReader()
    const decoder = new TextDecoder()
    let out = ''
    const line = async () => {
      while (!out.includes('\n')) {
        const { value, done } = await reader.read()
        if (done) break
        out += decoder.decode(value, { stream: true })
      }
      const [first = '', ...rest] = out.split('\n')
      out = rest.join('\n')
      return first
    }
    const [clientPort, head] = (await line()).split(' ').map(Number) as [number, number]
    const mine = () => connections().filter(c => c.local === clientPort && c.remote === port)
    const served = () => connections().filter(c => c.local === port && c.remote === clientPort)
    await waitFor('the answer queued in the kernel', () =>
      queued(
        head,
        mine().reduce((n, c) => n + c.rx, 0),
        served().reduce((n, c) => n + c.tx, 0),
        written(port, clientPort),
      ),
    )
    truncateSync(file, cut)
    client.stdin.write('go\n')
    await client.stdin.flush()
    const result = JSON.parse(await line())
    await client.exited
    return result as { length: number; got: number; zeros: number; other: number; error: string | null }
  } finally {
    client.kill()
  }
}

const SIZE = 6 * 1024 * 1024
test.skipIf(QUEUES < 2 * SIZE)(
  "a file truncated once its whole answer waits in the client's receive queue: the client gets the file as it was, no zeros",
  async () => {
    // Cut inside a page: the zeroed part of it, and of its large folio, is what sendfile left queued.
    const result = await cutWhileQueued(
      SIZE,
      3_000_001,
      (head, rx, tx, written) =>
        // All written, or all in the client's queue (execd then shut the connection: none established).
        Math.max(written, rx) >= head + SIZE,
    )
    expect(result.length).toBe(SIZE)
    expect({ zeros: result.zeros, other: result.other }).toEqual({ zeros: 0, other: 0 })
    expect({ got: result.got, error: result.error }).toEqual({ got: SIZE, error: null })
  },
)

test.skipIf(QUEUES < 2 * SIZE)(
  "a file truncated while its answer is still being read: the client gets only the file's bytes, short, and a reset",
  async () => {
    const size = QUEUES + 16 * 1024 * 1024
    const result = await cutWhileQueued(size, 2_000_001, (head, rx, tx) => rx + tx >= SIZE)
    expect(result.length).toBe(size)
    expect({ zeros: result.zeros, other: result.other }).toEqual({ zeros: 0, other: 0 })
    expect(result.got).toBeLessThan(size)
    expect(result.error).toBe('ConnectionResetError')
  },
)
