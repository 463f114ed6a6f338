/**
 * A download past --download-copy-max is sent from the file itself by sendfile, whose pages
 * stay the file's while they wait in the socket's queues: a file truncated then zeroed them,
 * and a client that read only afterwards got the whole Content-Length with zeros where the file
 * had data. execd now resets the connection when the file shrinks below what it promised: the
 * client sees the answer fail short of its length.
 *
 * The client is python (it can size its receive buffer before connecting); it reads nothing
 * until told, so the answer waits in the kernel: up to 2 MiB in its receive queue, the rest in
 * execd's send queue.
 */
import { expect, test } from 'bun:test'
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { connections } from './kit/tcp-queues'

const PYTHON = process.env.EXECD_PYTHON || 'python3'
/** The send queue's cap: with the client's receive buffer (1 MiB asked, 2 MiB given), room for the whole answer. */
const WMEM_MAX = Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'latin1').trim().split(/\s+/)[2] ?? 0)
const SIZE = 5_000_000
const CUT = 2_000_001

const CLIENT = `
import json, socket, sys
port, path, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.connect(('127.0.0.1', port))
s.sendall(('GET /files/download?path=%s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-EXECD-ACCESS-TOKEN: %s\\r\\n\\r\\n' % (path, token)).encode())
print(s.getsockname()[1], flush=True)
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
print(json.dumps({'length': int(length[0]) if length else None, 'got': len(body), 'zeros': body.count(0), 'error': err}), flush=True)
`

const fx = daemonWithDir('download-truncate', () => ['--download-copy-max', '0'])

test.skipIf(WMEM_MAX < 4 << 20)(
  'a file truncated while its answer waits in the kernel: the connection is reset, the client never gets the promised length',
  async () => {
    const file = join(fx.tmp, 'big')
    writeFileSync(file, Buffer.alloc(SIZE, 'x'))
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
      const clientPort = Number(await line())
      const mine = () => connections().filter(c => c.local === clientPort && c.remote === port)
      const served = () => connections().filter(c => c.local === port && c.remote === clientPort)
      // Everything execd had to send is in the kernel: the client's receive queue and execd's send queue.
      await waitFor('the whole answer queued', () => {
        const queued = mine().reduce((n, c) => n + c.rx, 0) + served().reduce((n, c) => n + c.tx, 0)
        return queued >= SIZE
      })
      truncateSync(file, CUT)
      // Reset: the client's socket leaves the table (a FIN would leave it in CLOSE_WAIT).
      await waitFor('the connection reset', () => mine().length === 0)
      client.stdin.write('go\n')
      await client.stdin.flush()
      const result = JSON.parse(await line())
      await client.exited
      expect(result.length).toBe(SIZE)
      expect(result.got).toBeLessThan(SIZE)
    } finally {
      client.kill()
    }
  },
)
