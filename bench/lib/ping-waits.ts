/** `/ping` asked again and again while something else runs in the same daemon. */
import type { Execd } from './execd'

/**
 * Each `/ping`'s wait, in ms, while `run` runs; one at a time, `gapMs` between an answer and the
 * next. The pings go from a Worker (./ping-worker.ts), so what `run` costs the bench's own thread
 * is not counted as the daemon's.
 */
export async function pingWaits(d: Execd, run: () => Promise<void>, gapMs: number): Promise<number[]> {
  const worker = new Worker(new URL('./ping-worker.ts', import.meta.url).href)
  let pinging: () => void = () => {}
  const started = new Promise<void>(resolve => (pinging = resolve))
  const waits = new Promise<number[]>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<number[] | 'pinging'>) =>
      event.data === 'pinging' ? pinging() : resolve(event.data)
    worker.onerror = event => reject(new Error(`pinger: ${event.message}`))
  })
  worker.postMessage({ url: d.url, headers: d.headers, gapMs })
  try {
    await Promise.race([started, waits])
    await run()
  } finally {
    worker.postMessage('stop')
  }
  try {
    return await waits
  } finally {
    worker.terminate()
  }
}
