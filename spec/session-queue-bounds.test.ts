/**
 * What a client can leave queued in a bash session. A run whose client left waits for its turn
 * holding its code: runs posted behind a busy one by clients that left at once were held without
 * end (20 of 15 MiB behind a `sleep` grew execd by 280 MiB on main's build). A shell holds 256
 * runs queued or running, and a section's shells 128 Mi characters of code together; past
 * either, a 503 before any stream. Isolated sessions' shells have a bound of their own, the same
 * (core/limits.ts QueuedWork).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readSse, startDaemon, type Daemon } from './harness'

let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
})

const post = (sid: string, command: string, signal?: AbortSignal) =>
  d.fetch(`/session/${sid}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command }),
    signal,
  })

/** Posts a run and leaves once its `ping` came (the run is queued then); its status and error body. */
async function postAndLeave(sid: string, command: string): Promise<{ status: number; body?: any }> {
  const res = await post(sid, command)
  if (res.status === 200) {
    await readSse(res, f => f.data?.type === 'ping')
    return { status: 200 }
  }
  return { status: res.status, body: await res.json() }
}

async function newSession(): Promise<string> {
  const res = await d.fetch('/session', {
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
    for (let i = 1; i <= limit && !refused; i++) {
      const posted = await postAndLeave(sid, filler)
      if (posted.status !== 200) refused = posted
    }
    expect(refused?.status).toBe(503)
    expect(refused?.body.code).toBe('SERVICE_UNAVAILABLE')
    expect(refused?.body.message).toContain(words)
    busyClient.abort()
    await busyRead
    expect(await runWhenRoom(sid, 'echo room again')).toEqual(['room again'])
    expect((await d.fetch(`/session/${sid}`, { method: 'DELETE' })).status).toBe(200)
  }, 120_000)
}
