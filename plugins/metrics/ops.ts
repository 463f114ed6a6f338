/** Metrics operations, plain functions shared by the routes and `execd metrics`. */
import { ExecdError, PREFIX } from '../../core/errors'
import { Sampler, type Metrics } from './sampler'

export type { Metrics }

export const sampler = new Sampler()

export async function snapshot(): Promise<Metrics> {
  try {
    return await sampler.current()
  } catch (err) {
    throw new ExecdError('RUNTIME_ERROR', `${PREFIX.metrics}${(err as Error).message}`, { cause: err })
  }
}

/** One sample per second until the consumer stops iterating. */
export async function* watch(): AsyncGenerator<Metrics> {
  const queue: Metrics[] = []
  let wake: (() => void) | undefined
  const unsubscribe = sampler.subscribe(m => {
    // Keep only the newest few: a stalled consumer must not grow memory.
    if (queue.length >= 4) queue.shift()
    queue.push(m)
    wake?.()
  })
  try {
    yield await snapshot()
    for (;;) {
      while (queue.length === 0) await new Promise<void>(r => (wake = r))
      yield queue.shift()!
    }
  } finally {
    unsubscribe()
  }
}
