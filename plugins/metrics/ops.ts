/** Metrics operations over one sampler, shared by the routes and `execd metrics`. */
import { ExecdError, PREFIX } from '../../core/errors'
import { Sampler, type Metrics } from './sampler'

export type { Metrics }

export class MetricsOps {
  constructor(readonly sampler: Sampler = new Sampler()) {}

  async snapshot(): Promise<Metrics> {
    try {
      return await this.sampler.current()
    } catch (err) {
      throw new ExecdError('RUNTIME_ERROR', `${PREFIX.metrics}${(err as Error).message}`, { cause: err })
    }
  }

  /** One sample per second until the consumer stops iterating. */
  async *watch(): AsyncGenerator<Metrics> {
    const queue: Metrics[] = []
    let wake: (() => void) | undefined
    const unsubscribe = this.sampler.subscribe(m => {
      // Keep only the newest few: a stalled consumer must not grow memory.
      if (queue.length >= 4) queue.shift()
      queue.push(m)
      wake?.()
    })
    try {
      const first = await this.snapshot()
      yield first
      // A cold sampler's first sample reaches the queue too (its tick notifies us): each
      // sample is sent once, newer than the one before.
      let last = first.timestamp
      for (;;) {
        while (queue.length === 0) await new Promise<void>(r => (wake = r))
        const next = queue.shift()
        if (!next || next.timestamp <= last) continue
        last = next.timestamp
        yield next
      }
    } finally {
      unsubscribe()
    }
  }

  close(): void {
    this.sampler.stop()
  }
}
