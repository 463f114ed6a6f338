/** `/ping` asked again and again while something else runs in the same daemon. */
import type { Execd } from './execd'

/** Each `/ping`'s wait, in ms, while `run` runs; one at a time, `gapMs` between an answer and the next. */
export async function pingWaits(d: Execd, run: () => Promise<void>, gapMs: number): Promise<number[]> {
  let done = false
  const waits: number[] = []
  const pinger = (async () => {
    while (!done) {
      const t0 = performance.now()
      await (await d.fetch('/ping')).arrayBuffer()
      waits.push(performance.now() - t0)
      await Bun.sleep(gapMs)
    }
  })()
  try {
    await run()
  } finally {
    done = true
    await pinger
  }
  return waits
}
