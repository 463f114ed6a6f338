/**
 * Deadlines about a client's wait count the time execd ran, not a stop of execd (SIGSTOP, a
 * frozen cgroup as `docker pause` makes): while execd is stopped its client goes on (sends the
 * rest of a body into the kernel's buffers, means to reattach a terminal), and on resume the
 * deadline's timer ran before anything the client sent was read. Each deadline here is shortened
 * and execd stopped for longer; on resume the client's body or reattach still works. (Idle
 * expiry: spec/idle-stopped.test.ts; an upload's minimum rate: spec/files-upload-pace.test.ts.)
 */
import { expect, test } from 'bun:test'
import type { Socket } from 'bun'
import { postJson, readSse, startDaemon, type Daemon } from './harness'
import { PtyClient } from './pty-client'

/** A raw POST of `body` to `route`, cut in two around `between` (run with the first half sent). */
async function postInTwo(
  d: Daemon,
  route: string,
  body: string,
  chunked: boolean,
  between: () => Promise<void>,
): Promise<{ status: number; body: string }> {
  const url = new URL(d.url)
  let data = ''
  let wake: () => void = () => {}
  const ended = new Promise<void>(resolve => (wake = resolve))
  const socket: Socket<undefined> = await Bun.connect({
    hostname: url.hostname,
    port: Number(url.port),
    socket: {
      data(_s, chunk) {
        data += chunk.toString('latin1')
        if (whole(data)) wake()
      },
      close: () => wake(),
      error: () => wake(),
    },
  })
  const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`
  const piece = (text: string) => (chunked ? `${text.length.toString(16)}\r\n${text}\r\n` : text)
  const half = body.length >> 1
  socket.write(
    `POST ${route} HTTP/1.1\r\nHost: ${url.host}\r\nX-EXECD-ACCESS-TOKEN: ${d.token}\r\n` +
      `Content-Type: application/json\r\nConnection: close\r\n${framing}\r\n\r\n${piece(body.slice(0, half))}`,
  )
  await between()
  socket.write(piece(body.slice(half)) + (chunked ? '0\r\n\r\n' : ''))
  await ended
  socket.end()
  const end = data.indexOf('\r\n\r\n')
  return { status: Number(data.split(' ')[1] ?? 0), body: end < 0 ? '' : data.slice(end + 4) }
}

function whole(data: string): boolean {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return false
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(data.slice(0, end))?.[1]
  return length !== undefined && data.length - end - 4 >= Number(length)
}

/** execd stopped for `ms`; the client's `meanwhile` runs during the stop. */
async function stopped(d: Daemon, ms: number, meanwhile: () => void = () => {}): Promise<void> {
  d.proc.kill('SIGSTOP')
  try {
    await Bun.sleep(ms / 2)
    meanwhile()
    await Bun.sleep(ms / 2)
  } finally {
    d.proc.kill('SIGCONT')
  }
}

test('--body-timeout: a JSON body whose client sent the rest while execd was stopped is read whole', async () => {
  const d = await startDaemon({ args: ['--body-timeout', '3000'] })
  try {
    for (const chunked of [false, true]) {
      // The rest goes out during the stop: before the fix, a 408 'request body not received
      // within 3000 ms' the moment execd was resumed, the body waiting in its socket.
      let rest: () => void = () => {}
      const sentDuringStop = new Promise<void>(resolve => (rest = resolve))
      const reply = postInTwo(d, '/session', JSON.stringify({ cwd: '/' }), chunked, () => sentDuringStop)
      await Bun.sleep(200)
      await stopped(d, 6_000, rest)
      const r = await reply
      expect({ chunked, status: r.status }).toEqual({ chunked, status: 200 })
      expect(JSON.parse(r.body).session_id).toBeString()
    }
    // Running, a body that does not come is still a 408.
    const never = await postInTwo(d, '/session', '{"cwd": "/"}', false, () => Bun.sleep(4_000))
    expect(never.status).toBe(408)
  } finally {
    d.proc.kill('SIGCONT')
    await d.stop()
  }
}, 60_000)

test('--pty-retain, --command-retention-age: an exited terminal and a finished command outlive a stop longer than their retention', async () => {
  const d = await startDaemon({ args: ['--pty-retain', '5000', '--command-retention-age', '5'] })
  try {
    const id = (await (await postJson(d, '/pty', {})).json()).session_id as string
    const c = await PtyClient.connect(d, id)
    c.stdin('echo marker-$((1+2)); exit 3\n')
    await c.until('close', () => c.closed !== null)
    const command = (await readSse(await postJson(d, '/command', { command: 'echo kept' })))[0]?.data.text as string
    // Longer than the retentions and than their sweeps' 30 s period: the sweeps are due on
    // resume, and are let run before the client comes back. Before the fix they forgot both
    // (404s).
    await stopped(d, 33_000)
    await Bun.sleep(1_000)
    expect((await d.fetch(`/pty/${id}`)).status).toBe(200)
    expect((await d.fetch(`/command/status/${command}`)).status).toBe(200)
    expect(await (await d.fetch(`/command/${command}/logs`)).text()).toBe('kept\n')
    const again = await PtyClient.connect(d, id, 'since=0')
    await again.until('close', () => again.closed !== null)
    const replay = again.frames[0]
    expect(replay?.kind === 'replay' && replay.text).toContain('marker-3')
    expect(again.json('exit')).toEqual([{ type: 'exit', exit_code: 3 }])
  } finally {
    d.proc.kill('SIGCONT')
    await d.stop()
  }
}, 90_000)
