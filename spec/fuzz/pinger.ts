/**
 * A worker that pings the daemon every 50 ms for the whole run and keeps the worst latency.
 * It runs on its own thread so the fuzz's own work on the main thread does not count as the
 * daemon's latency.
 */
const worker = self as unknown as Worker

interface Start {
  url: string
  token: string
}

let stopped = false
let running = false
let target: Start = { url: '', token: '' }
let max = 0
let maxAt = 0
let count = 0
const failures: string[] = []

worker.onmessage = async (e: MessageEvent<Start | 'stop'>) => {
  if (e.data === 'stop') {
    stopped = true
    return
  }
  // A restarted daemon (after a crash) is followed at its new address.
  target = e.data
  if (running) return
  running = true
  while (!stopped) {
    const { url, token } = target
    const t0 = performance.now()
    try {
      const res = await fetch(`${url}/ping`, {
        headers: { 'X-EXECD-ACCESS-TOKEN': token },
        signal: AbortSignal.timeout(30_000),
      })
      await res.arrayBuffer()
      if (res.status !== 200 && failures.length < 10) failures.push(`status ${res.status}`)
      // Only answered pings count: a refused one (a crashed daemon) is reported as a crash.
      const took = performance.now() - t0
      if (took > max) [max, maxAt] = [took, Date.now() - took]
      count++
    } catch (err) {
      if (failures.length < 10) failures.push(String(err).slice(0, 80))
    }
    await Bun.sleep(50)
  }
  worker.postMessage({ max, maxAt, count, failures })
}
