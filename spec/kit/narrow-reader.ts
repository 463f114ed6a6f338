/**
 * Clients that take their answers through a narrow receive window: a GET read late, a POST never
 * read. Bun's fetch reads on into its own buffer whatever the test does, and loopback sockets grow
 * their receive buffers up to `net.ipv4.tcp_rmem`'s maximum (32 MiB here): a 9 MB answer could be
 * all sent before a test had changed the disk under it, and a client "not reading" a flood took
 * tens of MB. Python's socket takes SO_RCVBUF before it connects, which pins the window; the
 * sender then holds at most its own send buffer.
 */
import { connect, type Socket } from 'node:net'
import type { Daemon } from '../harness'

const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'

// Reads the status and the first bytes, says "first" on stdout, waits for a line on stdin,
// then reads the rest (http.client undoes the chunking) and writes it to stdout after a newline.
const CLIENT = `
import http.client, socket, sys
host, port, path, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
c = http.client.HTTPConnection(host, port)
c.sock = s
c.request('GET', path, headers={'X-EXECD-ACCESS-TOKEN': token})
r = c.getresponse()
head = r.read(1)
sys.stdout.write(str(r.status) + ' first\\n'); sys.stdout.flush()
sys.stdin.readline()
rest = r.read()
sys.stdout.buffer.write(b'\\n' + head + rest); sys.stdout.flush()
`

/**
 * GETs `path`; once its first byte is in, runs `meanwhile` while the rest waits behind the
 * narrow window, then reads the rest. Returns the status and the whole body.
 */
export async function narrowGet(
  d: Daemon,
  path: string,
  meanwhile: () => void | Promise<void>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(d.url)
  const proc = Bun.spawn([PYTHON, '-c', CLIENT, hostname, port, path, d.token], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = proc.stdout.getReader()
  const chunks: Uint8Array[] = []
  let text = ''
  while (!text.includes(' first\n')) {
    const next = await reader.read()
    if (next.done) throw new Error(`narrow reader ended early: ${await new Response(proc.stderr).text()}`)
    chunks.push(next.value)
    text = Buffer.concat(chunks).toString('latin1')
  }
  await meanwhile()
  proc.stdin.write('\n')
  await proc.stdin.end()
  for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value)
  if ((await proc.exited) !== 0) throw new Error(`narrow reader failed: ${await new Response(proc.stderr).text()}`)
  const all = Buffer.concat(chunks)
  const firstLine = all.indexOf('\n')
  const status = Number(all.subarray(0, firstLine).toString().split(' ')[0])
  // The marker line, then a newline, then the body.
  return { status, body: all.subarray(all.indexOf('\n', firstLine + 1) + 1).toString() }
}

// Sends one POST through the same narrow window, reads until its stream's init event is in (2 KiB
// at most) and says "sent" with those bytes in hex, then reads nothing until its stdin closes.
const SILENT = `
import json, socket, sys
host, port, path, token, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].encode()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
head = 'POST %s HTTP/1.1\\r\\nHost: %s:%d\\r\\nX-EXECD-ACCESS-TOKEN: %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n' % (path, host, port, token, len(body))
s.sendall(head.encode() + body)
first = b''
while b'"init"' not in first and len(first) < 2048:
    more = s.recv(2048 - len(first))
    if not more: break
    first += more
sys.stdout.write('sent ' + first.hex() + '\\n'); sys.stdout.flush()
sys.stdin.read()
`

/**
 * A POST whose client reads the start of its answer (`first`: the head and the stream's events up
 * to its init), then nothing: a stream it started and stopped reading. `close()` hangs up.
 */
export async function postUnread(
  d: Daemon,
  path: string,
  body: unknown,
): Promise<{ first: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(d.url)
  const proc = Bun.spawn([PYTHON, '-c', SILENT, hostname, port, path, d.token, JSON.stringify(body)], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = proc.stdout.getReader()
  let text = ''
  while (!/sent \w*\n/.test(text)) {
    const next = await reader.read()
    if (next.done) throw new Error(`silent client ended early: ${await new Response(proc.stderr).text()}`)
    text += Buffer.from(next.value).toString()
  }
  return {
    first: Buffer.from(/sent (\w*)\n/.exec(text)![1]!, 'hex').toString(),
    async close() {
      await proc.stdin.end()
      await proc.exited
    },
  }
}

/**
 * A GET of `path` (with the token) whose client never reads a byte of the answer: paused before
 * the answer comes (a node:net socket that reads its first chunk keeps reading, and takes it
 * all). Its receive window is the kernel's to grow; the sender's queue is what holds the rest.
 */
export function getUnread(d: Daemon, path: string): Promise<Socket> {
  const { hostname, port } = new URL(d.url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s))
    s.pause()
    s.on('error', reject)
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n\r\n`)
  })
}
