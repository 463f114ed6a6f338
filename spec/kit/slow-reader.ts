/**
 * A client that reads its answer at 1 KiB/s through the default buffers: what the stall rule
 * (core/send-stall.ts) cannot tell from one that reads nothing, since its kernel reopens a shut
 * window only after a good part of its buffer is read (on loopback ~64 KiB: a minute). Told to
 * finish, it reads on at full speed until it has `more` bytes past its slow ones: a connection
 * execd reset ends within what its buffer held (~128 KiB here), one still sent goes past.
 */
import type { Daemon } from '../harness'
import { portOf } from '../raw-http'

const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'

// Sends the request, says "reading" once bytes come, reads 1 KiB a second until a line on
// stdin, then reads fast up to `more` more bytes; prints how many of each and how it ended.
const CLIENT = `
import json, select, socket, sys, time
port, more = int(sys.argv[1]), int(sys.argv[2])
request = sys.stdin.buffer.readline().rstrip(b'\\n').decode().replace('\\\\r\\\\n', '\\r\\n').encode()
s = socket.socket()
s.connect(('127.0.0.1', port))
s.sendall(request)
slow, fast, end = 0, 0, 'read on'
told = False
def take():
    b = s.recv(65536 if told else 1024)
    if not b: raise EOFError('closed')
    return len(b)
try:
    slow += take()
    sys.stdout.write('reading\\n'); sys.stdout.flush()
    while not select.select([sys.stdin], [], [], 1)[0]:
        slow += take()
    told = True
    while fast < more:
        fast += take()
except (ConnectionResetError, EOFError) as e:
    end = 'reset' if isinstance(e, ConnectionResetError) else 'closed'
sys.stdout.write(json.dumps({'slow': slow, 'fast': fast, 'end': end}) + '\\n')
`

export interface SlowReader {
  /** Resolves once the first bytes of the answer came. */
  reading: Promise<void>
  /** Reads the rest fast; what it read slowly, fast, and how it ended. */
  finish(): Promise<{ slow: number; fast: number; end: string }>
}

/** Sends `head` (+ `body`) to `d` raw and reads the answer at 1 KiB/s until `finish`. */
export function slowReader(d: Daemon, head: string, body = '', more = 1 << 20): SlowReader {
  const proc = Bun.spawn([PYTHON, '-c', CLIENT, String(portOf(d.url)), String(more)], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  // One line: the request with its line ends escaped.
  proc.stdin.write(`${(head + body).replaceAll('\r\n', '\\r\\n')}\n`)
  proc.stdin.flush()
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  const readMore = async () => {
    const next = await lines.read()
    if (next.done) return false
    text += next.value
    return true
  }
  const reading = (async () => {
    while (!text.includes('reading\n')) {
      if (!(await readMore())) throw new Error(`slow reader ended early: ${await new Response(proc.stderr).text()}`)
    }
  })()
  return {
    reading,
    async finish() {
      // It may have ended already (reset while reading slowly).
      try {
        proc.stdin.write('\n')
        await proc.stdin.end()
      } catch {}
      while (await readMore()) {}
      const stderr = await new Response(proc.stderr).text()
      await proc.exited
      if (stderr) throw new Error(stderr)
      return JSON.parse(text.trim().split('\n').at(-1)!)
    },
  }
}
