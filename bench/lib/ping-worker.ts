/**
 * The pinger of ping-waits.ts, in a thread of its own: `/ping` one at a time, `gapMs` apart,
 * until told to stop, then its waits (ms) posted back ('pinging' once the first is answered). In the bench's main thread its clock read
 * the bench's own pauses too (taking in a 20 MB answer, its collections), not only the daemon's.
 */
const self = globalThis as unknown as Worker

let stopped = false
self.onmessage = async (
  event: MessageEvent<{ url: string; headers: Record<string, string>; gapMs: number } | 'stop'>,
) => {
  if (event.data === 'stop') return void (stopped = true)
  const { url, headers, gapMs } = event.data
  const waits: number[] = []
  while (!stopped) {
    const t0 = performance.now()
    await (await fetch(`${url}/ping`, { headers })).arrayBuffer()
    waits.push(performance.now() - t0)
    if (waits.length === 1) self.postMessage('pinging')
    await Bun.sleep(gapMs)
  }
  self.postMessage(waits)
}

export {}
