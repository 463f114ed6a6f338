/**
 * What a client can leave queued in a bash session. A run whose client left waits for its turn
 * holding its code: runs posted behind a busy one by clients that left at once were held without
 * end (20 of 15 MiB behind a `sleep` grew execd by 280 MiB on main's build). A shell holds 256
 * runs queued or running, and a section's shells 128 Mi characters of code together; past
 * either, a 503 before any stream. Isolated sessions' shells have a bound of their own, the same
 * (core/limits.ts QueuedWork).
 */
import { expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

// Each of the 256 runs held is a stream open: room for them and the refused one.
const fx = daemonAlone(() => ['--max-streams', '1024'])

const post = (sid: string, command: string, signal?: AbortSignal) =>
  fx.d.fetch(`/session/${sid}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command }),
    signal,
  })

/**
 * Posts a run on a connection of its own and holds it once the run's `ping` came (the run is
 * queued then): its status, the error body of a refusal, and the socket, to leave by later. Each
 * filler's client stays until the refusal came, on a socket the test holds: a fetch read to its
 * `ping` and dropped left its connection to the client's pool and collector, and a queued run
 * gives its room back once execd sees its client gone (at a keepalive's write), so what was
 * counted when the last post came depended on the client's timing. Raw sockets: fetch holds at
 * most 256 connections at once.
 */
function postAndHold(sid: string, command: string): Promise<{ status: number; body?: any; socket: Socket }> {
  const body = Buffer.from(JSON.stringify({ command }))
  const head =
    `POST /session/${sid}/run HTTP/1.1\r\nHost: 127.0.0.1\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  const { hostname, port } = new URL(fx.d.url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    let got = ''
    socket.on('error', reject)
    socket.on('data', chunk => {
      got += chunk.toString('latin1')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)
      const split = got.indexOf('\r\n\r\n')
      if (!status || split < 0) return
      if (status === 200) {
        if (got.includes('"type":"ping"')) resolve({ status, socket })
        return
      }
      const length = Number(/^content-length: *(\d+)/im.exec(got.slice(0, split))?.[1] ?? -1)
      const rest = got.slice(split + 4)
      if (Buffer.byteLength(rest, 'latin1') >= length) resolve({ status, body: JSON.parse(rest), socket })
    })
    socket.write(head)
    socket.write(body)
  })
}

async function newSession(): Promise<string> {
  const res = await fx.d.fetch('/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  expect(res.status).toBe(200)
  return (await res.json()).session_id
}

/**
 * A run read to its end once the shell has room again (the runs whose clients left end at
 * their turns, one after another): its stdout lines.
 */
async function runWhenRoom(sid: string, command: string): Promise<string[]> {
  for (;;) {
    const res = await post(sid, command)
    if (res.status === 503) {
      await res.body?.cancel()
      await Bun.sleep(50)
      continue
    }
    expect(res.status).toBe(200)
    const frames = await readSse(res)
    return frames
      .map(f => f.data as any)
      .filter(e => e.type === 'stdout')
      .map(e => e.text)
  }
}

for (const [name, filler, limit, words] of [
  ['a shell holds 256 runs queued or running', 'true', 256, '256 runs queued or running'],
  ['runs hold 128 Mi characters of code in all', `#${'x'.repeat(15 << 20)}\ntrue`, 12, 'characters of code'],
] as const) {
  test(`${name}: the next is a 503, and room comes back once the running one is interrupted`, async () => {
    const sid = await newSession()
    // The busy run's client stays: one that leaves interrupts its run.
    const busyClient = new AbortController()
    const busy = await post(sid, 'sleep 600', busyClient.signal)
    expect(busy.status).toBe(200)
    // Read on: an answer nobody holds is collected, and its connection closed.
    const busyRead = readSse(busy).catch(() => [])
    let refused: { status: number; body?: any } | undefined
    const held: Socket[] = []
    for (let i = 1; i <= limit && !refused; i++) {
      const posted = await postAndHold(sid, filler)
      held.push(posted.socket)
      if (posted.status !== 200) refused = posted
    }
    expect(refused?.status).toBe(503)
    expect(refused?.body.code).toBe('SERVICE_UNAVAILABLE')
    expect(refused?.body.message).toContain(words)
    // Their clients leave now; their runs end at their turns, or as execd sees them gone.
    for (const socket of held) socket.destroy()
    busyClient.abort()
    await busyRead
    expect(await runWhenRoom(sid, 'echo room again')).toEqual(['room again'])
    expect((await fx.d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
  }, 120_000)
}
